//! What Django's `get_user` (`contrib/auth/__init__.py`, Django 5.2) asks
//! of a session before it yields a user, so a session Django has ended is
//! ended here too, whether or not it ever reaches Django again:
//!
//! - `_auth_user_id` and `_auth_user_backend` are there (else: anonymous);
//! - the backend finds the user: the row exists and, under `ModelBackend`
//!   and its subclasses, `is_active` is true (`user_can_authenticate`; a
//!   model without the field counts as active; the `AllowAllUsers*`
//!   backends take inactive users too);
//! - `_auth_user_hash` is non-empty and equals, as text,
//!   `get_session_auth_hash()` under `SECRET_KEY` or one of
//!   `SECRET_KEY_FALLBACKS`: `salted_hmac(HASH_SALT, user.password,
//!   secret, "sha256").hexdigest()`, where `salted_hmac` keys HMAC-SHA256
//!   with `sha256(key_salt + secret)` (`utils/crypto.py`). A password
//!   change rewrites `password`, so every older session stops matching.

use std::error::Error;
use std::sync::Arc;

use bytes::BytesMut;
use deadpool_postgres::tokio_postgres::error::SqlState;
use deadpool_postgres::tokio_postgres::types::{to_sql_checked, Format, IsNull, ToSql, Type};
use futures_util::future::{self, BoxFuture, FutureExt as _};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::session::check::SessionCheck;
use crate::session::codec::mac::MacKeys;
use crate::session::store::describe_error;
use crate::session::Reason;
use crate::session::SessionError;

/// `AbstractBaseUser._get_session_auth_hash`'s key salt.
pub const HASH_SALT: &str = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash";

/// Django's backends whose `user_can_authenticate` accepts inactive users.
const ALLOW_INACTIVE: [&str; 2] = [
    "django.contrib.auth.backends.AllowAllUsersModelBackend",
    "django.contrib.auth.backends.AllowAllUsersRemoteUserBackend",
];

/// `get_session_auth_hash()` under each secret, newest first.
#[derive(Clone)]
pub struct AuthHash {
    keys: MacKeys<Hmac<Sha256>>,
}

impl AuthHash {
    /// For `SECRET_KEY` then its fallbacks.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let keys = MacKeys::new(secrets.into_iter().map(|secret| {
            Sha256::new()
                .chain_update(HASH_SALT)
                .chain_update(secret)
                .finalize()
        }));
        Self { keys }
    }

    /// Whether `session_hash` is the hash of `password` under one of the
    /// secrets, compared as text in constant time as Django compares it.
    pub fn matches(&self, session_hash: &str, password: &str) -> bool {
        let hex_matches = |mac: Hmac<Sha256>| {
            let hex = lower_hex(&mac.finalize().into_bytes());
            bool::from(hex.as_bytes().ct_eq(session_hash.as_bytes()))
        };
        self.keys
            .find(&[password.as_bytes()], hex_matches)
            .is_some()
    }
}

fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The keys Django's `login()` writes into the session.
struct Login {
    user_id: String,
    backend: String,
    hash: String,
}

impl Login {
    fn of(doc: &Value) -> Result<Self, SessionError> {
        let anonymous = SessionError::Unauthenticated;
        let user_id = match &doc["_auth_user_id"] {
            Value::String(id) => id.clone(),
            Value::Number(id) => id.to_string(),
            _ => {
                return Err(anonymous(
                    Reason::NoSubject,
                    "no _auth_user_id: not a logged-in Django session",
                ))
            }
        };
        let Some(backend) = doc["_auth_user_backend"].as_str() else {
            return Err(anonymous(
                Reason::NoSubject,
                "no _auth_user_backend: Django reads the session as anonymous",
            ));
        };
        let hash = match doc["_auth_user_hash"].as_str() {
            Some(hash) if !hash.is_empty() => hash.to_owned(),
            _ => {
                return Err(anonymous(
                    Reason::Ended,
                    "no _auth_user_hash: Django refuses the session",
                ))
            }
        };
        Ok(Self {
            user_id,
            backend: backend.to_owned(),
            hash,
        })
    }
}

/// The user table, read by primary key on the session store's pool.
pub struct Users {
    pool: deadpool_postgres::Pool,
    query: Arc<str>,
    table: Arc<str>,
    id_column: Arc<str>,
}

/// The columns of a user row that `get_user` reads.
struct UserRow {
    password: Option<String>,
    /// The row's `is_active` as JSON; `None` when the table has no such column.
    is_active: Option<Value>,
}

impl Users {
    /// `table` (`[schema.]name`, validated) keyed by `id_column`
    /// (validated) on `pool`.
    pub fn new(pool: deadpool_postgres::Pool, table: &str, id_column: &str) -> Self {
        // to_jsonb reads is_active only where the model has the field.
        let query = format!(
            "SELECT u.password::text, (to_jsonb(u) -> 'is_active')::text FROM {table} AS u WHERE u.{id_column} = $1"
        );
        Self {
            pool,
            query: query.into(),
            table: table.into(),
            id_column: id_column.into(),
        }
    }

    fn describe(&self) -> impl Fn(deadpool_postgres::tokio_postgres::Error) -> String {
        let (table, id_column) = (self.table.clone(), self.id_column.clone());
        move |e| match e.code() {
            Some(&SqlState::UNDEFINED_COLUMN) => format!(
                "postgres: {e}; the user table `{table}` needs `password` and the primary key \
                 `{id_column}` (SESSION_DJANGO_USER_ID_COLUMN)"
            ),
            _ => describe_error(
                &e,
                &table,
                "SESSION_DJANGO_USER_TABLE",
                "set it to your user model's db_table, or run `python manage.py migrate`",
            ),
        }
    }

    /// The row of user `id`, `None` when there is none (or `id` cannot be
    /// a key of the table, as Django's `to_python` would refuse it).
    fn find(&self, id: String) -> BoxFuture<'static, Result<Option<UserRow>, SessionError>> {
        let (pool, query, describe) = (self.pool.clone(), self.query.clone(), self.describe());
        async move {
            let unavailable = |e| SessionError::Unavailable(describe(e));
            let client = (pool.get().await)
                .map_err(|e| SessionError::Unavailable(format!("postgres: {e}")))?;
            let statement = client.prepare_cached(&query).await.map_err(unavailable)?;
            let row = match client.query_opt(&statement, &[&AsText(&id)]).await {
                Ok(row) => row,
                Err(e) if e.code() == Some(&SqlState::INVALID_TEXT_REPRESENTATION) => None,
                Err(e) => return Err(unavailable(e)),
            };
            Ok(row.map(|row| UserRow {
                password: row.get(0),
                // Text of a JSON value PostgreSQL wrote; unreadable would be false.
                is_active: row
                    .get::<_, Option<String>>(1)
                    .map(|json| serde_json::from_str(&json).unwrap_or(Value::Null)),
            }))
        }
        .boxed()
    }
}

/// A parameter sent as text, for PostgreSQL to read as whatever type the
/// key column has (integer, UUID, text), as a literal would be.
#[derive(Debug)]
struct AsText<'a>(&'a str);

impl ToSql for AsText<'_> {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// Python's truth value of a JSON value (`getattr(user, "is_active", True)`).
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Django's `get_user` as a [`SessionCheck`]: the session's login keys
/// always; the user row and the password hash when `users` is set.
pub struct DjangoAuth {
    pub hash: AuthHash,
    pub users: Option<Users>,
}

impl SessionCheck for DjangoAuth {
    fn check(&self, doc: &Value) -> BoxFuture<'static, Result<(), SessionError>> {
        let login = match Login::of(doc) {
            Ok(login) => login,
            Err(e) => return future::ready(Err(e)).boxed(),
        };
        let Some(users) = &self.users else {
            return future::ready(Ok(())).boxed();
        };
        let (found, hash) = (users.find(login.user_id), self.hash.clone());
        let refused = SessionError::Unauthenticated;
        async move {
            let user = found.await?.ok_or(refused(
                Reason::Ended,
                "the session's user no longer exists",
            ))?;
            let active = user.is_active.as_ref().is_none_or(truthy);
            if !active && !ALLOW_INACTIVE.contains(&login.backend.as_str()) {
                return Err(refused(Reason::Ended, "the session's user is inactive"));
            }
            match user.password {
                Some(password) if hash.matches(&login.hash, &password) => Ok(()),
                _ => Err(refused(
                    Reason::Ended,
                    "_auth_user_hash does not match: the password changed since this session began",
                )),
            }
        }
        .boxed()
    }

    fn ready(&self) -> BoxFuture<'static, Result<(), String>> {
        let Some(users) = &self.users else {
            return future::ready(Ok(())).boxed();
        };
        let (pool, query, describe) = (users.pool.clone(), users.query.clone(), users.describe());
        async move {
            let client = pool.get().await.map_err(|e| format!("postgres: {e}"))?;
            client
                .prepare_cached(&query)
                .await
                .map(drop)
                .map_err(describe)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_hash_is_djangos_salted_hmac_of_the_password_under_any_secret() {
        // Django 5.2 (the writer's venv): salted_hmac(HASH_SALT,
        // "pbkdf2_sha256$x", secret="s1", algorithm="sha256").hexdigest()
        let django = "5c22ac5994ba186ddea1a046c3872d0c3d2d5c36776d1d318f8cdb95751905ae";
        let hash = AuthHash::new(["s2", "s1"]);
        assert!(hash.matches(django, "pbkdf2_sha256$x"));
        assert!(!hash.matches(django, "pbkdf2_sha256$y"));
        assert!(!hash.matches(&django.to_uppercase(), "pbkdf2_sha256$x"));
        assert!(!hash.matches(&django[..63], "pbkdf2_sha256$x"));
        assert!(!AuthHash::new(["s2"]).matches(django, "pbkdf2_sha256$x"));
    }

    #[test]
    fn is_active_is_read_as_python_reads_it() {
        assert!(truthy(&Value::Bool(true)));
        for falsy in [json!(false), json!(null), json!(0), json!("")] {
            assert!(!truthy(&falsy), "{falsy}");
        }
    }
}

//! Devise's sign-in inside the Rails session, checked as Warden checks it.
//! Read from Devise 4.8 (`models/authenticatable.rb`,
//! `models/database_authenticatable.rb`), Warden 1.2
//! (`session_serializer.rb`) and orm_adapter 0.5 (`adapters/active_record.rb`):
//!
//! - Warden keeps the user of scope `<scope>` (Devise's default `user`) under
//!   the session key `warden.user.<scope>.key` (`SessionSerializer#key_for`),
//!   and reads it only when it is truthy (`fetch`).
//! - Devise stores `[record.to_key, record.authenticatable_salt]`
//!   (`serialize_into_session`): `[[id], salt]`, the id as the primary key
//!   serializes (an integer, or a string for a uuid key).
//! - `authenticatable_salt` is `encrypted_password[0,29]`: the bcrypt hash's
//!   version, cost and salt, new with every password (nil when the column is).
//! - `serialize_from_session(key, salt)` loads `where(primary_key =>
//!   key.first).first` and keeps it only when
//!   `record.authenticatable_salt == salt` (a plain `==`, not
//!   `secure_compare`; compared in constant time here). No record or another
//!   salt: Warden drops the key and the request is signed out.
//!
//! So a password change or a deleted user ends every other session of that
//! user on its next request to the app; here the same check runs on every
//! request.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::tokio_postgres::error::SqlState;
use deadpool_postgres::tokio_postgres::types::{to_sql_checked, Format, IsNull, ToSql, Type};
use deadpool_postgres::tokio_postgres::Statement;
use serde_json::Value;
use subtle::ConstantTimeEq as _;

use crate::session::store::pool_from_settings;
use crate::session::{SessionConfig, SessionError, SettingError, StoreSettings};

/// The variable naming the users table's primary key column.
pub const ID_COLUMN_VAR: &str = "SESSION_DEVISE_ID_COLUMN";
/// The variable naming the column Devise keeps the password hash in.
pub const PASSWORD_COLUMN_VAR: &str = "SESSION_DEVISE_PASSWORD_COLUMN";

/// Characters of the password hash that `authenticatable_salt` keeps.
const SALT_CHARS: usize = 29;

const NO_USER: SessionError = SessionError::Unauthenticated("the session has no user");
const MALFORMED: SessionError =
    SessionError::Unauthenticated("the session's Devise key is not [[id], salt]");

/// Where Devise's users are: the Warden session key the subject pointer
/// names, and the users table's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviseSettings {
    /// `warden.user.<scope>.key`.
    pub session_key: String,
    /// `SESSION_DEVISE_ID_COLUMN`, default `id`.
    pub id_column: String,
    /// `SESSION_DEVISE_PASSWORD_COLUMN`, default `encrypted_password`.
    pub password_column: String,
}

impl DeviseSettings {
    /// The Devise settings when `SESSION_SUBJECT_POINTER` is a Devise
    /// scope's id (`/warden.user.<scope>.key/0/0`, the `rails` default);
    /// `None` for another pointer (an app without Devise). A pointer into a
    /// Warden key of another shape is refused: it would read an id whose
    /// salt nobody checks.
    pub fn parse(config: &SessionConfig) -> Result<Option<Self>, SettingError> {
        let pointer = config.subject_pointer.as_str();
        let Some(rest) = pointer.strip_prefix("/warden.user.") else {
            return Ok(None);
        };
        let scope = rest
            .strip_suffix(".key/0/0")
            .filter(|s| is_identifier(s))
            .ok_or_else(|| SettingError {
                var: "SESSION_SUBJECT_POINTER",
                message: format!(
                    "`{pointer}` points into a Warden key but not at a Devise scope's id; use \
                     /warden.user.<scope>.key/0/0, e.g. /warden.user.user.key/0/0"
                ),
            })?;
        let column = |var: &'static str, default: &str| {
            let name = config.option(var).map_or(default, str::trim);
            match is_identifier(name) {
                true => Ok(name.to_owned()),
                false => Err(SettingError {
                    var,
                    message: format!(
                        "`{name}` is not a column name; use letters, digits and `_`, e.g. {default}"
                    ),
                }),
            }
        };
        Ok(Some(Self {
            session_key: format!("warden.user.{scope}.key"),
            id_column: column(ID_COLUMN_VAR, "id")?,
            password_column: column(PASSWORD_COLUMN_VAR, "encrypted_password")?,
        }))
    }
}

/// An unquoted SQL identifier (also what a Devise scope, a Ruby symbol
/// from the model's name, looks like).
fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A Devise sign-in read from the session: the user id and the salt of
/// their password at sign-in.
pub struct WardenKey {
    /// The primary key, as text.
    pub id: String,
    salt: Option<String>,
}

impl std::fmt::Debug for WardenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WardenKey({}, salt redacted)", self.id)
    }
}

impl WardenKey {
    /// The sign-in at `session_key` in `doc`; 401 when there is none (absent
    /// or null, as Warden's `fetch` reads it) or it is not `[[id, ..], salt]`
    /// with an integer or string id and a string or null salt.
    pub fn find(doc: &Value, session_key: &str) -> Result<Self, SessionError> {
        let pair = match doc.get(session_key) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => return Err(NO_USER),
            Some(Value::Array(pair)) if pair.len() == 2 => pair,
            Some(_) => return Err(MALFORMED),
        };
        let id = match pair[0].get(0) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            _ => return Err(MALFORMED),
        };
        let salt = match &pair[1] {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            _ => return Err(MALFORMED),
        };
        Ok(Self { id, salt })
    }

    /// Devise's `record.authenticatable_salt == salt`, given the row's
    /// `authenticatable_salt` (`None` for a NULL password column).
    pub fn salt_matches(&self, row_salt: Option<&str>) -> bool {
        match (self.salt.as_deref(), row_salt) {
            (Some(ours), Some(theirs)) => ours.as_bytes().ct_eq(theirs.as_bytes()).into(),
            (None, None) => true,
            _ => false,
        }
    }
}

/// Devise's users table: one query per check, on a pool (the session
/// stores' TLS and connection settings).
pub struct UserRows {
    pool: deadpool_postgres::Pool,
    query: Arc<str>,
    timeout: Duration,
}

impl UserRows {
    /// The users table in `store` (a [`StoreSettings::Postgres`]:
    /// `DATABASE_URL`, its table `SESSION_PG_TABLE`) with `devise`'s
    /// columns, each check bounded by `timeout`.
    pub fn new(
        store: &StoreSettings,
        devise: &DeviseSettings,
        timeout: Duration,
    ) -> Result<Self, String> {
        let StoreSettings::Postgres { table, .. } = store else {
            return Err("SESSION_BACKEND=rails: the users check needs DATABASE_URL".into());
        };
        let pool = pool_from_settings(store, timeout)?;
        // Table and columns were validated as identifiers at start-up.
        let (id, password) = (&devise.id_column, &devise.password_column);
        let query =
            format!("SELECT left({password}::text, {SALT_CHARS}) FROM {table} WHERE {id} = $1")
                .into();
        Ok(Self {
            pool,
            query,
            timeout,
        })
    }

    /// Checks `key` against its user's row: 401 when the row is gone or its
    /// salt differs (the password changed), 503 when the database fails or
    /// is late.
    pub async fn check(&self, key: &WardenKey) -> Result<(), SessionError> {
        let late =
            || SessionError::Unavailable(format!("postgres: no answer in {:?}", self.timeout));
        let row_salt = tokio::time::timeout(self.timeout, self.salt(&key.id))
            .await
            .map_err(|_| late())??;
        match row_salt {
            None => Err(SessionError::Unauthenticated(
                "the Devise user no longer exists",
            )),
            Some(salt) if !key.salt_matches(salt.as_deref()) => Err(SessionError::Unauthenticated(
                "the Devise session's password salt is stale: the password changed since sign-in",
            )),
            Some(_) => Ok(()),
        }
    }

    /// The row's `authenticatable_salt` (`Some(None)`: a NULL password),
    /// `None` when there is no such user.
    async fn salt(&self, id: &str) -> Result<Option<Option<String>>, SessionError> {
        let unavailable = |e: String| SessionError::Unavailable(format!("postgres: {e}"));
        let (client, statement) = self.prepared().await.map_err(unavailable)?;
        match client.query_opt(&statement, &[&TextParam(id)]).await {
            Ok(row) => Ok(row.map(|r| r.get::<_, Option<String>>(0))),
            // Active Record casts such an id to none of its rows.
            Err(e)
                if e.code() == Some(&SqlState::INVALID_TEXT_REPRESENTATION)
                    || e.code() == Some(&SqlState::NUMERIC_VALUE_OUT_OF_RANGE) =>
            {
                Err(SessionError::Unauthenticated(
                    "the Devise user id does not fit the users table's id column",
                ))
            }
            Err(e) => Err(unavailable(e.to_string())),
        }
    }

    /// A pooled connection with the query prepared on it (once per
    /// connection).
    async fn prepared(&self) -> Result<(deadpool_postgres::Object, Statement), String> {
        let client = self.pool.get().await.map_err(|e| e.to_string())?;
        let statement = client
            .prepare_cached(&self.query)
            .await
            .map_err(|e| e.to_string())?;
        Ok((client, statement))
    }

    /// Prepares the query: PostgreSQL checks that the table and columns
    /// exist, which `SELECT 1` would not.
    pub async fn ping(&self) -> Result<(), SessionError> {
        tokio::time::timeout(self.timeout, self.prepared())
            .await
            .map_err(|_| SessionError::Unavailable("postgres ping timed out".into()))?
            .map(|_| ())
            .map_err(|e| {
                SessionError::Unavailable(format!(
                    "postgres: the Devise user check cannot run: {e}"
                ))
            })
    }
}

/// A parameter sent in PostgreSQL's text format, which the server parses
/// as the column's own type: Devise's ids are whatever the primary key is
/// (`bigint`, `integer`, `uuid`, `text`), and a typed comparison keeps the
/// primary key's index in use.
#[derive(Debug)]
struct TextParam<'a>(&'a str);

impl ToSql for TextParam<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &str = "warden.user.user.key";

    #[test]
    fn reads_what_devise_serializes_into_the_session() {
        let salt = "$2a$12$N9qo8uLOickgx2ZMRZoMye";
        let doc = json!({KEY: [[42], salt]});
        let key = WardenKey::find(&doc, KEY).unwrap();
        assert_eq!(key.id, "42");
        assert!(key.salt_matches(Some(salt)));
        assert!(!key.salt_matches(Some("$2a$12$N9qo8uLOickgx2ZMRZoMyf")));
        assert!(!key.salt_matches(None));
        assert!(!format!("{key:?}").contains("N9qo"));
        let uuid = json!({KEY: [["0b7e4a3c-uuid"], null]});
        let key = WardenKey::find(&uuid, KEY).unwrap();
        assert_eq!(key.id, "0b7e4a3c-uuid");
        assert!(key.salt_matches(None), "nil == nil, as in Ruby");
        assert!(!key.salt_matches(Some("")));
    }

    #[test]
    fn anything_else_is_no_sign_in() {
        let is = |doc: Value, why: &str| matches!(WardenKey::find(&doc, KEY), Err(SessionError::Unauthenticated(w)) if w == why);
        let no_user = "the session has no user";
        let malformed = "the session's Devise key is not [[id], salt]";
        assert!(is(json!({}), no_user));
        assert!(is(json!({KEY: null}), no_user));
        assert!(is(json!({"warden.user.admin.key": [[1], "s"]}), no_user));
        for bad in [
            json!([[1]]),
            json!([[1], "s", 3]),
            json!([1, "s"]),
            json!([[], "s"]),
            json!([[1.5], "s"]),
            json!([[true], "s"]),
            json!([[1], 7]),
            json!("1"),
        ] {
            assert!(is(json!({ KEY: bad }), malformed), "{bad}");
        }
    }
}

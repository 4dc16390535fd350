//! Django sessions (`django.contrib.sessions`), JSON serializer only, and
//! the checks `django.contrib.auth` makes before a session yields a user.
//! Read from Django 5.2:
//!
//! - `signing.rs`: `signing.dumps`, the string both engines keep;
//! - the `db` engine keeps it in `django_session.session_data` (salt
//!   `django.contrib.sessions.SessionStore`); the cookie is the bare
//!   session key. The row's `expire_date` bounds it.
//! - the `signed_cookies` engine puts it in the cookie itself (salt
//!   `django.contrib.sessions.backends.signed_cookies`), bounded by
//!   `SESSION_COOKIE_AGE` from the timestamp (`SESSION_MAX_AGE` here).
//! - `auth.rs`: `get_user`'s checks (the user row, `is_active`, the
//!   password hash), against `SESSION_DJANGO_USER_TABLE` on `DATABASE_URL`.

use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use serde_json::Value;

use super::stored::StoreAuthenticator;
use super::{ClaimsCodec, CodecAuthenticator, SessionIdCookie};
use crate::env_var::EnvVar;
use crate::metrics::CacheMetrics;
use crate::session::cookies::find_cookie;
use crate::session::store::{self, PgColumns, PostgresStore};
use crate::session::Reason;
use crate::session::{
    FormatSettings, SessionAuthenticator, SessionConfig, SessionError, SettingError, StoreSettings,
};

mod auth;
mod signing;

pub use auth::{AuthHash, HASH_SALT};
pub use signing::DjangoSigned;

use auth::{DjangoAuth, Users};

/// The `db` engine's salt (`"django.contrib.sessions." + SessionStore`).
pub const DB_SALT: &str = "django.contrib.sessions.SessionStore";
/// The `signed_cookies` engine's salt.
pub const COOKIE_SALT: &str = "django.contrib.sessions.backends.signed_cookies";

/// The variable naming Django's `SESSION_ENGINE`.
pub const ENGINE: &str = "SESSION_DJANGO_ENGINE";
/// The user model's table (`auth_user`; `off`: not read).
pub const USER_TABLE: &str = "SESSION_DJANGO_USER_TABLE";
/// The user model's primary key column (`id`).
pub const USER_ID_COLUMN: &str = "SESSION_DJANGO_USER_ID_COLUMN";
/// `SESSION_DJANGO_ENGINE`, which picks the preset's store.
pub const ENGINE_VAR: EnvVar = EnvVar::plain(
    ENGINE,
    "`db` (the `sessionid` cookie names a `django_session` row; also for `cached_db`) or \
     `signed_cookies` (the cookie holds the signed session), or Django's own `SESSION_ENGINE` \
     value; `cache` and `file` are refused: this service cannot read them.",
)
.defaults_to("`db`");
/// The `django` preset's own variables.
pub const OPTIONS: &[EnvVar] = &[
    EnvVar::plain(
        USER_TABLE,
        "The user model's table (`schema.table` allowed), where each session's user, `is_active` \
         and `_auth_user_hash` are checked as Django's `get_user` checks them; `off`: not \
         checked (warned).",
    )
    .defaults_to("`auth_user`"),
    EnvVar::plain(
        USER_ID_COLUMN,
        "That table's primary key column (integer, UUID or text).",
    )
    .defaults_to("`id`"),
];

/// Django's module path for its session engines.
const ENGINES: &str = "django.contrib.sessions.backends.";

/// The engine `SESSION_DJANGO_ENGINE` means: `db` or `signed_cookies`,
/// also as Django's own `SESSION_ENGINE` value; `cached_db` keeps every
/// session in the database too, so it is `db`.
pub fn engine(value: &str) -> Result<&'static str, String> {
    match value.strip_prefix(ENGINES).unwrap_or(value) {
        "db" | "cached_db" => Ok("db"),
        "signed_cookies" => Ok("signed_cookies"),
        "cache" | "file" => Err(format!(
            "`{value}` keeps sessions in Django's cache or in files on the app's server, which \
             this service cannot read; switch Django's SESSION_ENGINE to \
             {ENGINES}db, cached_db or signed_cookies"
        )),
        _ => Err(format!(
            "`{value}` is not a Django session engine; use db (also for cached_db) or \
             signed_cookies, or Django's SESSION_ENGINE value, e.g. {ENGINES}db"
        )),
    }
}

/// Where `get_user` finds users: the table (`None`: not read) and its key.
struct UserTable {
    table: Option<String>,
    id_column: String,
}

fn user_table(config: &SessionConfig) -> Result<UserTable, SettingError> {
    let table = match config.option(USER_TABLE).map(str::trim) {
        None => Some("auth_user".to_owned()),
        Some("off") => None,
        Some(table) if store::is_table_name(table) => Some(table.to_owned()),
        Some(table) => {
            return Err(SettingError {
                var: USER_TABLE,
                message: format!(
                    "`{table}` is not a table name; use your user model's db_table \
                     (letters, digits, `_`, optionally `schema.table`), or off"
                ),
            })
        }
    };
    let id_column = config.option(USER_ID_COLUMN).map_or("id", str::trim);
    if id_column.contains('.') || !store::is_table_name(id_column) {
        return Err(SettingError {
            var: USER_ID_COLUMN,
            message: format!(
                "`{id_column}` is not a column name; use your user model's primary key column, e.g. id"
            ),
        });
    }
    Ok(UserTable {
        table,
        id_column: id_column.to_owned(),
    })
}

/// The `django` preset's [`Check`](crate::session::preset::Check): its
/// settings are where the users are.
pub fn check(config: &SessionConfig) -> Result<FormatSettings, SettingError> {
    user_table(config).map(FormatSettings::new)
}

/// What the settings leave unchecked: the user row and password hash
/// without a database, or with `SESSION_DJANGO_USER_TABLE=off`.
pub fn warnings(config: &SessionConfig) -> Vec<String> {
    let unchecked = "Django's user row and _auth_user_hash are not checked: a session stays valid \
                     here after its user's password changes, or the user is deactivated or deleted";
    let off = config
        .format
        .get::<UserTable>()
        .is_some_and(|users| users.table.is_none());
    match (&config.store, config.option(ENGINE)) {
        (StoreSettings::None, _) => vec![format!(
            "{ENGINE}=signed_cookies without DATABASE_URL: {unchecked}, until SESSION_MAX_AGE; \
             set DATABASE_URL (and {USER_TABLE}) to check them"
        )],
        (_, Some(engine)) if off => vec![format!(
            "{USER_TABLE}=off ({ENGINE}={engine}): {unchecked}; set it to your user model's table"
        )],
        _ => Vec::new(),
    }
}

/// The `django` preset's [`Build`](crate::session::preset::Build): the `db`
/// engine as a session key looked up in `django_session`, or the
/// `signed_cookies` engine as a cookie codec; either way checked as
/// Django's `get_user` checks it, against the user table when there is a
/// database.
pub fn build(
    config: &SessionConfig,
    cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    let secrets = || config.secrets.iter().map(|s| s.expose());
    let users: &UserTable = config.settings()?;
    let pool = match &config.store {
        StoreSettings::Postgres { .. } => Some(store::pool_from_settings(
            &config.store,
            config.lookup_timeout,
        )?),
        _ => None,
    };
    let auth = Arc::new(DjangoAuth {
        hash: AuthHash::new(secrets()),
        users: match (&pool, &users.table) {
            (Some(pool), Some(table)) => Some(Users::new(pool.clone(), table, &users.id_column)),
            _ => None,
        },
    });
    match (config.option(ENGINE), &config.store, pool) {
        (Some("db"), StoreSettings::Postgres { table, .. }, Some(pool)) => {
            let store = PostgresStore::with_pool(pool, table, PgColumns::DJANGO);
            Ok(Arc::new(
                StoreAuthenticator::compose(
                    SessionIdCookie::plain(&config.cookie_name),
                    Box::new(store),
                    Box::new(DjangoSigned::new(DB_SALT, secrets(), None)),
                    config,
                    cache,
                )
                .with_check(auth),
            ))
        }
        (Some("signed_cookies"), _, _) => {
            let codec = SignedCookies {
                name: config.cookie_name.clone(),
                signed: DjangoSigned::new(COOKIE_SALT, secrets(), config.max_age),
            };
            Ok(Arc::new(CodecAuthenticator::checked(
                codec, config, auth, cache,
            )))
        }
        _ => Err(format!(
            "{ENGINE}: use db (with DATABASE_URL) or signed_cookies"
        )),
    }
}

/// The `signed_cookies` engine: the cookie holds the signed session.
struct SignedCookies {
    name: String,
    signed: DjangoSigned,
}

impl ClaimsCodec for SignedCookies {
    fn decode(&self, headers: &HeaderMap, now_unix: u64) -> Result<Value, SessionError> {
        let cookie = find_cookie(headers, &self.name).ok_or(SessionError::Unauthenticated(
            Reason::NoCookie,
            "no session cookie",
        ))?;
        self.signed.open(&cookie, now_unix)
    }
}

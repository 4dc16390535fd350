//! better-auth sessions (PostgreSQL adapter). Read from better-auth 1.7.25
//! and better-call 1.4.5:
//!
//! - The cookie `better-auth.session_token` (`__Secure-` prefixed when the
//!   app uses secure cookies: an `https` `baseURL`, production, or
//!   `advanced.useSecureCookies`) holds better-call's signed cookie:
//!   `encodeURIComponent(token + "." + base64(HMAC-SHA256(secret, token)))`,
//!   standard base64 with its padding (44 characters ending in `=`, the only
//!   shape `getSignedCookie` accepts). The key is the secret's bytes, the
//!   current secret only: better-auth's versioned `secrets` do not apply to
//!   cookie signatures.
//! - The token is the `session` table's `token` column (`findSession`);
//!   the row is live while `"expiresAt"` is in the future; sign-out deletes
//!   it.

use std::sync::Arc;

use serde_json::Value;

pub use super::better_call::BetterCallSigner;
use super::stored::StoreAuthenticator;
use super::SessionIdCookie;
use crate::metrics::CacheMetrics;
use crate::session::store::{PgColumns, PostgresStore, StoredDocument};
use crate::session::{SessionAuthenticator, SessionConfig, SessionError};

/// The prefix better-auth puts on its cookie names with secure cookies.
const SECURE_PREFIX: &str = "__Secure-";

/// The `better-auth` preset's [`Build`](crate::session::preset::Build): the
/// signed session token looked up in better-auth's `session` table.
pub fn build(
    config: &SessionConfig,
    cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    let store =
        PostgresStore::from_settings(&config.store, PgColumns::BETTER_AUTH, config.lookup_timeout)?;
    let signer = BetterCallSigner::new(config.secrets.iter().map(|s| s.expose()));
    Ok(Arc::new(StoreAuthenticator::compose(
        SessionIdCookie::better_call(cookie_names(&config.cookie_name), signer),
        Box::new(store),
        Box::new(SessionRow),
        config,
        cache,
    )))
}

/// The cookie names read, in order: the `__Secure-` one first, as a
/// deployment behind HTTPS (better-auth's production default) reads only
/// that one, then the name itself (plain HTTP, development).
fn cookie_names(name: &str) -> Vec<String> {
    if name.starts_with(SECURE_PREFIX) {
        return vec![name.to_owned()];
    }
    vec![format!("{SECURE_PREFIX}{name}"), name.to_owned()]
}

/// The session row as JSON; its expiry was checked by the query.
struct SessionRow;

impl StoredDocument for SessionRow {
    fn open(&self, stored: &str, _now_unix: u64) -> Result<Value, SessionError> {
        serde_json::from_str(stored)
            .map_err(|_| SessionError::Unavailable("the session row is not JSON".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_secure_name_first() {
        assert_eq!(
            cookie_names("better-auth.session_token"),
            [
                "__Secure-better-auth.session_token",
                "better-auth.session_token"
            ]
        );
        assert_eq!(cookie_names("__Secure-x"), ["__Secure-x"]);
    }
}

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

use hmac::Hmac;
use serde_json::Value;
use sha2::Sha256;

use super::mac::MacKeys;
use super::SessionIdCookie;
use crate::b64;
use crate::metrics::CacheMetrics;
use crate::session::store::{PgColumns, PostgresStore, StoreAuthenticator, StoredDocument};
use crate::session::{SessionAuthenticator, SessionConfig, SessionError};

/// The prefix better-auth puts on its cookie names with secure cookies.
const SECURE_PREFIX: &str = "__Secure-";
/// Length of better-call's signature: base64 of 32 bytes, padded.
const SIGNATURE_LEN: usize = 44;

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

/// Verifies better-call signed cookies (`<value>.<signature>`, already
/// percent-decoded) against a list of secrets.
#[derive(Clone)]
pub struct BetterCallSigner {
    // Keyed HMAC states, newest secret first.
    keys: MacKeys<Hmac<Sha256>>,
}

impl std::fmt::Debug for BetterCallSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BetterCallSigner({} secrets, redacted)", self.keys.len())
    }
}

impl BetterCallSigner {
    /// A signer for these secrets, newest first. Empty secrets are skipped.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            keys: MacKeys::new(secrets.into_iter().filter(|s| !s.is_empty())),
        }
    }

    /// The value inside `cookie` when a secret signed it, compared in
    /// constant time; a short static reason otherwise.
    pub fn unsign<'c>(&self, cookie: &'c str) -> Result<&'c str, &'static str> {
        let (value, sig) = cookie
            .rsplit_once('.')
            .filter(|(value, _)| !value.is_empty())
            .ok_or("session cookie is not signed")?;
        if sig.len() != SIGNATURE_LEN || !sig.ends_with('=') {
            return Err("session cookie is malformed");
        }
        let sig = b64::standard_decode(sig).map_err(|_| "session cookie is malformed")?;
        if self.keys.verify(&[value.as_bytes()], &sig).is_some() {
            Ok(value)
        } else {
            Err("session cookie signature does not match")
        }
    }

    /// `<value>.<signature>` with the newest secret (not yet
    /// percent-encoded), for tests.
    pub fn sign(&self, value: &str) -> String {
        let sig = b64::standard_encode(self.keys.sign(&[value.as_bytes()]));
        format!("{value}.{sig}")
    }
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
    fn unsigns_what_better_call_signs_with_any_secret() {
        let old = BetterCallSigner::new(["old-secret"]);
        let both = BetterCallSigner::new(["new-secret", "old-secret"]);
        let cookie = old.sign("KomepguAn0XUK3PTAq1EAe79NPqDxvSz");
        assert_eq!(both.unsign(&cookie), Ok("KomepguAn0XUK3PTAq1EAe79NPqDxvSz"));
        let new = BetterCallSigner::new(["new-secret"]);
        assert!(new.unsign(&cookie).is_err());
        let tampered = cookie.replacen('K', "L", 1);
        assert!(both.unsign(&tampered).is_err());
        // better-call keeps the padding; without it the signature is refused.
        assert!(both.unsign(cookie.trim_end_matches('=')).is_err());
        assert!(both.unsign(".abc").is_err());
        assert!(both.unsign("token").is_err());
    }

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

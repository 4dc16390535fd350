//! Express's `cookie-session` middleware: the session is base64 JSON in the
//! cookie `<name>`, and `<name>.sig` holds keygrip's signature of
//! `<name>=<value>` (HMAC-SHA1, base64 with `+/` as `-_`, no padding). Read
//! from cookie-session 2.1 and cookies 0.9 / keygrip 1.1: `Cookies.get`
//! matches the raw value and keygrip tries every key in order.

use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use hmac::Hmac;
use serde_json::Value;
use sha1::Sha1;

use super::mac::MacKeys;
use super::{ClaimsCodec, CodecAuthenticator};
use crate::b64;
use crate::metrics::CacheMetrics;
use crate::session::cookies::find_cookie;
use crate::session::Reason;
use crate::session::{SessionAuthenticator, SessionConfig, SessionError};

/// The `cookie-session` preset's [`Build`](crate::session::preset::Build).
pub fn build(
    config: &SessionConfig,
    _cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    let codec = CookieSession::new(
        &config.cookie_name,
        config.secrets.iter().map(|s| s.expose()),
    );
    Ok(CodecAuthenticator::shared(codec, config))
}

/// Reads and verifies cookie-session's cookie pair.
pub struct CookieSession {
    name: String,
    sig_name: String,
    // Keyed HMAC states, newest key first.
    keys: MacKeys<Hmac<Sha1>>,
}

impl std::fmt::Debug for CookieSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CookieSession({}, {} keys, redacted)",
            self.name,
            self.keys.len()
        )
    }
}

impl CookieSession {
    /// The codec for cookie `name` signed with any of `keys`, newest first.
    pub fn new<'a>(name: &str, keys: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            name: name.to_owned(),
            sig_name: format!("{name}.sig"),
            keys: MacKeys::new(keys),
        }
    }

    /// The session document in a value whose signature cookie is `sig`.
    pub fn open(&self, value: &str, sig: &str) -> Result<Value, SessionError> {
        // keygrip's signature: URL-safe alphabet, padding stripped.
        let sig = b64::url_decode(sig).map_err(|_| {
            SessionError::Unauthenticated(Reason::BadSignature, "session signature is malformed")
        })?;
        let message = [self.name.as_bytes(), b"=", value.as_bytes()];
        if self.keys.verify(&message, &sig).is_none() {
            return Err(SessionError::Unauthenticated(
                Reason::BadSignature,
                "session cookie signature does not match",
            ));
        }
        // Node's `Buffer.from(s, 'base64')` takes padded and unpadded input.
        let json = b64::standard_decode_any_padding(value).map_err(|_| {
            SessionError::Unauthenticated(Reason::Malformed, "session cookie is not base64")
        })?;
        serde_json::from_slice(&json).map_err(|_| {
            SessionError::Unauthenticated(Reason::Malformed, "session cookie is not JSON")
        })
    }

    /// Signs `value` with the newest key (keygrip's `sign`), for tests.
    pub fn sign(&self, value: &str) -> String {
        b64::url_encode(
            self.keys
                .sign(&[self.name.as_bytes(), b"=", value.as_bytes()]),
        )
    }

    /// cookie-session's `encode`: base64 of the JSON text.
    pub fn encode(doc: &Value) -> String {
        b64::standard_encode(doc.to_string())
    }
}

impl ClaimsCodec for CookieSession {
    fn decode(&self, headers: &HeaderMap, _now_unix: u64) -> Result<Value, SessionError> {
        let value = find_cookie(headers, &self.name).ok_or(SessionError::Unauthenticated(
            Reason::NoCookie,
            "no session cookie",
        ))?;
        let sig = find_cookie(headers, &self.sig_name).ok_or(SessionError::Unauthenticated(
            Reason::NoCookie,
            "no session signature cookie",
        ))?;
        self.open(&value, &sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn signs_as_keygrip_and_opens_with_any_key() {
        // What keygrip 1.1 answers for keygrip(["keyboard cat"]).sign("session=e30=").
        let old = CookieSession::new("session", ["keyboard cat"]);
        assert_eq!(old.sign("e30="), "xXeAYe0aU9ZnfJG2bPC1wg3CQcU");
        let both = CookieSession::new("session", ["new key", "keyboard cat"]);
        let value = CookieSession::encode(&json!({"userId": "alice"}));
        let doc = both.open(&value, &old.sign(&value)).unwrap();
        assert_eq!(doc["userId"], "alice");
        let other = CookieSession::new("session", ["other"]);
        assert!(other.open(&value, &old.sign(&value)).is_err());
        let renamed = CookieSession::new("sess", ["keyboard cat"]);
        assert!(renamed.open(&value, &old.sign(&value)).is_err());
    }
}

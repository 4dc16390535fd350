//! Flask's default session cookie, read from Flask 3.1
//! (`SecureCookieSessionInterface`) and itsdangerous 2.2
//! (`URLSafeTimedSerializer`): the cookie is `<payload>.<timestamp>.<sig>`.
//!
//! - `sig`: HMAC-SHA1 of `<payload>.<timestamp>` under a key derived as
//!   HMAC-SHA1(secret, `"cookie-session"`) (Flask's salt, key derivation
//!   `hmac`); URL-safe base64 without padding. Every secret is tried, the
//!   newest first, as with Flask's `SECRET_KEY_FALLBACKS`.
//! - `timestamp`: the signing time, big-endian seconds with leading zero
//!   bytes stripped, URL-safe base64; refused when older than
//!   `SESSION_MAX_AGE` or in the future, as itsdangerous does.
//! - `payload`: URL-safe base64 of compact tagged JSON, zlib-compressed
//!   and prefixed with `.` when that is shorter.

mod tagged_json;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::HeaderMap;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;

use super::mac::MacKeys;
use super::{zlib, ClaimsCodec, CodecAuthenticator};
use crate::b64;
use crate::metrics::CacheMetrics;
use crate::session::cookies::find_cookie;
use crate::session::Reason;
use crate::session::{SessionAuthenticator, SessionConfig, SessionError};

pub use tagged_json::untag;

/// Flask's `SecureCookieSessionInterface.salt`.
const SALT: &[u8] = b"cookie-session";

/// Flask's `PERMANENT_SESSION_LIFETIME` default, used when none is given.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(31 * 86_400);

/// The `flask` preset's [`Build`](crate::session::preset::Build).
pub fn build(
    config: &SessionConfig,
    _cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    let codec = FlaskSession::new(
        &config.cookie_name,
        config.secrets.iter().map(|s| s.expose()),
        config.max_age.unwrap_or(DEFAULT_MAX_AGE),
    );
    Ok(CodecAuthenticator::shared(codec, config))
}

/// Reads and verifies Flask's signed session cookie.
pub struct FlaskSession {
    name: String,
    // HMAC states keyed with each secret's derived key, newest first.
    keys: MacKeys<Hmac<Sha1>>,
    max_age: u64,
}

impl std::fmt::Debug for FlaskSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FlaskSession({}, {} keys, redacted)",
            self.name,
            self.keys.len()
        )
    }
}

fn refuse(reason: Reason, why: &'static str) -> SessionError {
    SessionError::Unauthenticated(reason, why)
}

impl FlaskSession {
    /// The codec for cookie `name` signed with any of `secrets` (newest
    /// first), accepting signatures up to `max_age` old.
    pub fn new<'a>(
        name: &str,
        secrets: impl IntoIterator<Item = &'a str>,
        max_age: Duration,
    ) -> Self {
        let keys = MacKeys::new(secrets.into_iter().map(|secret| {
            let mut derive =
                Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
            derive.update(SALT);
            derive.finalize().into_bytes()
        }));
        Self {
            name: name.to_owned(),
            keys,
            max_age: max_age.as_secs(),
        }
    }

    /// The plain-JSON session in cookie value `cookie`, checked at `now_unix`.
    pub fn open(&self, cookie: &str, now_unix: u64) -> Result<Value, SessionError> {
        let (signed, sig) = cookie
            .rsplit_once('.')
            .ok_or(refuse(Reason::BadSignature, "session cookie is not signed"))?;
        // itsdangerous' `base64_decode` restores the padding it stripped.
        let sig = b64::url_decode_any_padding(sig)
            .map_err(|_| refuse(Reason::BadSignature, "session signature is malformed"))?;
        if self.keys.verify(&[signed.as_bytes()], &sig).is_none() {
            return Err(refuse(
                Reason::BadSignature,
                "session cookie signature does not match",
            ));
        }
        let (payload, timestamp) = signed
            .rsplit_once('.')
            .ok_or(refuse(Reason::Malformed, "session cookie has no timestamp"))?;
        let signed_at = timestamp_secs(timestamp)
            .ok_or(refuse(Reason::Malformed, "session timestamp is malformed"))?;
        // itsdangerous: `age > max_age` and `age < 0` are both expired.
        match now_unix.checked_sub(signed_at) {
            Some(age) if age <= self.max_age => {}
            _ => return Err(refuse(Reason::Expired, "the session has expired")),
        }
        let json = payload_json(payload)?;
        let doc: Value = serde_json::from_slice(&json)
            .map_err(|_| refuse(Reason::Malformed, "session payload is not JSON"))?;
        untag(doc).map_err(|why| refuse(Reason::Malformed, why))
    }
}

impl FlaskSession {
    /// `TimestampSigner.sign` with the newest secret: `payload` (already
    /// encoded, see [`FlaskSession::encode_payload`]) signed at `signed_at`.
    /// For tests and fuzzing; the service never signs sessions.
    pub fn sign(&self, payload: &str, signed_at: u64) -> String {
        let bytes = signed_at.to_be_bytes();
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        let signed = format!("{payload}.{}", b64::url_encode(&bytes[first..]));
        let sig = self.keys.sign(&[signed.as_bytes()]);
        format!("{signed}.{}", b64::url_encode(sig))
    }

    /// `URLSafeSerializerMixin.dump_payload` for JSON text `json`:
    /// compressed (with the `.` prefix) when asked, plain otherwise.
    pub fn encode_payload(json: &[u8], compress: bool) -> String {
        if compress {
            format!(".{}", b64::url_encode(zlib::deflate(json)))
        } else {
            b64::url_encode(json)
        }
    }
}

/// itsdangerous' `bytes_to_int(base64_decode(ts))`: up to 8 big-endian bytes.
fn timestamp_secs(timestamp: &str) -> Option<u64> {
    let raw = b64::url_decode_any_padding(timestamp).ok()?;
    if raw.len() > 8 {
        return None;
    }
    Some(raw.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

/// `URLSafeSerializerMixin.load_payload`: base64, inflated when the payload
/// starts with `.`.
fn payload_json(payload: &str) -> Result<Vec<u8>, SessionError> {
    let (compressed, text) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    let raw = b64::url_decode_any_padding(text)
        .map_err(|_| refuse(Reason::Malformed, "session payload is not base64"))?;
    if !compressed {
        return Ok(raw);
    }
    zlib::inflate(&raw).map_err(|e| refuse(Reason::Malformed, e.reason()))
}

impl ClaimsCodec for FlaskSession {
    fn decode(&self, headers: &HeaderMap, now_unix: u64) -> Result<Value, SessionError> {
        let cookie = find_cookie(headers, &self.name)
            .ok_or(refuse(Reason::NoCookie, "no session cookie"))?;
        self.open(&cookie, now_unix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Written by Flask 3.1.3 / itsdangerous 2.2.0 with SECRET_KEY "dev" and
    // the clock at 1_764_374_400: {"_user_id": "1"}, then the same with
    // "n": 200 × "x", which Flask compresses.
    const AT: u64 = 1_764_374_400;
    const PLAIN: &str = "eyJfdXNlcl9pZCI6IjEifQ.aSo3gA.mUyHkDs20fdsZeZO1_vwxhWsoVU";
    const PACKED: &str =
        ".eJyrVoovLU4tis9MUbJSMlTSUcoD0hXDBCjVAgCKEGRS.aSo3gA.1gm67YEMoTztcp0KwsQ2g7p5_Ik";
    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn opens_flasks_cookies_with_any_secret_within_max_age() {
        let codec = FlaskSession::new("session", ["new", "dev"], DAY);
        assert_eq!(codec.open(PLAIN, AT).unwrap(), json!({"_user_id": "1"}));
        assert_eq!(
            codec.open(PACKED, AT + 86_400).unwrap()["n"],
            "x".repeat(200)
        );
        assert!(codec.open(PLAIN, AT + 86_401).is_err());
        assert!(codec.open(PLAIN, AT - 1).is_err());
        let other = FlaskSession::new("session", ["other"], DAY);
        assert!(other.open(PLAIN, AT).is_err());
    }

    #[test]
    fn signs_as_itsdangerous() {
        let codec = FlaskSession::new("session", ["dev"], DAY);
        let payload = FlaskSession::encode_payload(br#"{"_user_id":"1"}"#, false);
        assert_eq!(codec.sign(&payload, AT), PLAIN);
        let packed = FlaskSession::encode_payload(br#"{"_user_id":"1"}"#, true);
        assert_eq!(
            codec.open(&codec.sign(&packed, AT), AT).unwrap()["_user_id"],
            "1"
        );
    }

    #[test]
    fn inflates_compressed_payloads_up_to_the_shared_limit() {
        let codec = FlaskSession::new("session", ["dev"], DAY);
        // `{"n":"xx…"}` of `len` bytes, compressed as Flask does.
        let cookie = |len: usize| {
            let json = format!(r#"{{"n":"{}"}}"#, "x".repeat(len - 8));
            codec.sign(&FlaskSession::encode_payload(json.as_bytes(), true), AT)
        };
        let at_limit = codec.open(&cookie(zlib::MAX_INFLATED), AT).unwrap();
        assert_eq!(
            at_limit["n"].as_str().unwrap().len(),
            zlib::MAX_INFLATED - 8
        );
        assert!(matches!(
            codec.open(&cookie(zlib::MAX_INFLATED + 1), AT),
            Err(SessionError::Unauthenticated(Reason::Malformed, _))
        ));
    }

    #[test]
    fn refuses_any_edit() {
        let codec = FlaskSession::new("session", ["dev"], DAY);
        let later = PLAIN.replace(".aSo3gA.", ".aSo3gQ.");
        let unpacked = PACKED.strip_prefix('.').unwrap();
        for bad in [&later[..], unpacked, "", ".", "a.b", "a.b.c", &PLAIN[1..]] {
            assert!(codec.open(bad, AT).is_err(), "{bad}");
        }
    }
}

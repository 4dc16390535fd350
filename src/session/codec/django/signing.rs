//! Django's `signing.dumps` / `signing.loads` (`core/signing.py`): the
//! string both session engines keep, `<payload>:<timestamp>:<signature>`.
//! The payload is URL-safe base64 (no padding) of compact JSON, or of its
//! zlib compression with a leading `.`; the timestamp is base62 seconds; the
//! signature is `salted_hmac(salt + "signer", value, secret, "sha256")`:
//! HMAC-SHA256 keyed with `sha256(salt + "signer" + secret)`, URL-safe
//! base64 without padding. `SECRET_KEY_FALLBACKS` are tried in turn.

use std::time::Duration;

use hmac::Hmac;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::b64;
use crate::session::codec::mac::MacKeys;
use crate::session::codec::zlib;
use crate::session::store::StoredDocument;
use crate::session::Reason;
use crate::session::SessionError;

/// Verifies and opens `signing.dumps` strings for one salt.
pub struct DjangoSigned {
    // HMAC-SHA256 keyed with sha256(salt + "signer" + secret), newest first.
    keys: MacKeys<Hmac<Sha256>>,
    max_age: Option<Duration>,
}

impl std::fmt::Debug for DjangoSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DjangoSigned({} keys, redacted)", self.keys.len())
    }
}

impl DjangoSigned {
    /// For `salt` and these secrets (`SECRET_KEY` first, then the
    /// fallbacks); `max_age` bounds the signing time when set.
    pub fn new<'a>(
        salt: &str,
        secrets: impl IntoIterator<Item = &'a str>,
        max_age: Option<Duration>,
    ) -> Self {
        let keys = MacKeys::new(secrets.into_iter().map(|secret| {
            Sha256::new()
                .chain_update(salt)
                .chain_update("signer")
                .chain_update(secret)
                .finalize()
        }));
        Self { keys, max_age }
    }

    /// The session document in `signed` at `now_unix`.
    pub fn open(&self, signed: &str, now_unix: u64) -> Result<Value, SessionError> {
        let bad = SessionError::Unauthenticated;
        let (value, sig) = signed
            .rsplit_once(':')
            .ok_or(bad(Reason::BadSignature, "session is not signed"))?;
        // Signatures exactly as Django writes them (URL-safe, unpadded):
        // Django compares the text, so a padded signature is another one.
        let sig = b64::url_decode(sig)
            .map_err(|_| bad(Reason::BadSignature, "session signature is malformed"))?;
        if self.keys.verify(&[value.as_bytes()], &sig).is_none() {
            return Err(bad(
                Reason::BadSignature,
                "session signature does not match",
            ));
        }
        let (payload, timestamp) = value
            .rsplit_once(':')
            .ok_or(bad(Reason::Malformed, "session has no timestamp"))?;
        if let Some(max_age) = self.max_age {
            let signed_at = b62_decode(timestamp)
                .ok_or(bad(Reason::Malformed, "session timestamp is malformed"))?;
            if now_unix.saturating_sub(signed_at) > max_age.as_secs() {
                return Err(bad(Reason::Expired, "the session has expired"));
            }
        }
        let (compressed, payload) = match payload.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, payload),
        };
        // Django's `b64_decode` restores the padding `b64_encode` stripped.
        let mut data = b64::url_decode_any_padding(payload)
            .map_err(|_| bad(Reason::Malformed, "session payload is not base64"))?;
        if compressed {
            data = zlib::inflate(&data).map_err(|e| bad(Reason::Malformed, e.reason()))?;
        }
        serde_json::from_slice(&data).map_err(|_| {
            bad(
                Reason::Malformed,
                "session is not JSON (only Django's JSONSerializer is supported, never pickle)",
            )
        })
    }

    /// `signing.dumps(doc, salt, compress=False)` at `now_unix` with the
    /// newest secret, for tests and fuzzing.
    pub fn sign(&self, doc: &Value, now_unix: u64) -> String {
        let value = format!(
            "{}:{}",
            b64::url_encode(doc.to_string()),
            b62_encode(now_unix)
        );
        let sig = self.keys.sign(&[value.as_bytes()]);
        format!("{value}:{}", b64::url_encode(sig))
    }
}

impl StoredDocument for DjangoSigned {
    fn open(&self, stored: &str, now_unix: u64) -> Result<Value, SessionError> {
        DjangoSigned::open(self, stored, now_unix)
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Django's `b62_decode` for non-negative values; `None` past `u64`.
fn b62_decode(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |n, c| {
        let digit = BASE62.iter().position(|&d| d == c)? as u64;
        n.checked_mul(62)?.checked_add(digit)
    })
}

/// Django's `b62_encode` for non-negative values.
fn b62_encode(mut n: u64) -> String {
    let mut out = Vec::new();
    loop {
        out.push(BASE62[(n % 62) as usize]);
        n /= 62;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::super::{COOKIE_SALT, DB_SALT};
    use super::*;
    use serde_json::json;

    #[test]
    fn base62_round_trips_and_refuses_garbage() {
        for n in [0, 61, 62, 1_764_000_000, u64::MAX] {
            assert_eq!(b62_decode(&b62_encode(n)), Some(n));
        }
        // What Django 5.2 answers for b62_encode(1764000000).
        assert_eq!(b62_encode(1_764_000_000), "1vNYyu");
        assert_eq!(b62_decode(""), None);
        assert_eq!(b62_decode("-1"), None);
        assert_eq!(b62_decode("zzzzzzzzzzzzz"), None);
    }

    #[test]
    fn opens_its_own_signature_within_max_age_only() {
        let day = Duration::from_secs(86_400);
        let signer = DjangoSigned::new(COOKIE_SALT, ["new", "old"], Some(day));
        let old = DjangoSigned::new(COOKIE_SALT, ["old"], None);
        let doc = json!({"_auth_user_id": "7"});
        let signed = old.sign(&doc, 1_000_000);
        assert_eq!(signer.open(&signed, 1_000_000 + 10).unwrap(), doc);
        assert!(signer.open(&signed, 1_000_000 + 86_401).is_err());
        let other_salt = DjangoSigned::new(DB_SALT, ["old"], None);
        assert!(other_salt.open(&signed, 1_000_000).is_err());
        let tampered = signed.replacen(':', "x:", 1);
        assert!(signer.open(&tampered, 1_000_000).is_err());
    }

    #[test]
    fn inflates_compressed_payloads_up_to_the_shared_limit() {
        let signer = DjangoSigned::new(DB_SALT, ["k"], None);
        let seal = |json: &str| {
            let packed = b64::url_encode(zlib::deflate(json.as_bytes()));
            let value = format!(".{packed}:{}", b62_encode(1));
            let sig = b64::url_encode(signer.keys.sign(&[value.as_bytes()]));
            format!("{value}:{sig}")
        };
        // A JSON string of `len` bytes, quotes included.
        let text = |len: usize| format!("\"{}\"", "x".repeat(len - 2));
        let at_limit = signer.open(&seal(&text(zlib::MAX_INFLATED)), 1).unwrap();
        assert_eq!(at_limit.as_str().unwrap().len(), zlib::MAX_INFLATED - 2);
        let past = signer.open(&seal(&text(zlib::MAX_INFLATED + 1)), 1);
        assert!(matches!(
            past,
            Err(SessionError::Unauthenticated(Reason::Malformed, _))
        ));
    }
}

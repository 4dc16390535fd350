//! Rails' encrypted cookie store (`ActionDispatch::Session::CookieStore`
//! on `cookies.encrypted`), read from ActionPack / ActiveSupport 6.1 and the
//! 7.1+ cookie jar:
//!
//! - key: `PBKDF2-HMAC(secret_key_base, "authenticated encrypted cookie",
//!   1000 iterations, 32 bytes)`, HMAC-SHA1 up to Rails 6.1 and HMAC-SHA256
//!   from `load_defaults 7.0` (`key_generator_hash_digest_class`);
//! - value: `base64(ciphertext)--base64(iv)--base64(tag)` (strict base64),
//!   AES-256-GCM with a 12-byte IV, a 16-byte tag and no associated data;
//! - plaintext: the metadata envelope
//!   `{"_rails":{"message":base64(session JSON),"exp":..,"pur":"cookie.<name>"}}`.
//!   The cookie jars encrypt with `NullSerializer`, so even Rails 7.1+, whose
//!   `Messages::Metadata` can also write `{"_rails":{"data":..}}`, writes
//!   this legacy envelope for cookies; only it is accepted.
//!
//! Stricter than Rails on purpose: a cookie without the purpose
//! `cookie.<name>` (Rails 6.1 falls back to reading it without one) and a
//! Marshal-serialized session (`cookies_serializer = :marshal`, or an old
//! cookie under `:hybrid`) are refused; Marshal is never loaded.

use actix_web::http::header::HeaderMap;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde_json::Value;

use crate::b64;
use crate::session::codec::ClaimsCodec;
use crate::session::cookies::find_cookie;
use crate::session::mapping::parse_iso8601_utc;
use crate::session::Reason;
use crate::session::{SessionError, SettingError};

/// The variable choosing the key-derivation digest.
pub const KEY_DIGEST_VAR: &str = "SESSION_RAILS_KEY_DIGEST";

/// `config.action_dispatch.authenticated_encrypted_cookie_salt`'s default.
const SALT: &[u8] = b"authenticated encrypted cookie";

/// `Rails::Application#key_generator`'s iteration count.
const ITERATIONS: u32 = 1000;

/// What `Marshal.dump` output starts with (format version 4.8).
const MARSHAL: &[u8] = b"\x04\x08";

const UNAUTH_MARSHAL: SessionError = SessionError::Unauthenticated(
    Reason::Malformed,
    "the Rails session is Marshal-serialized; set cookies_serializer = :json",
);

/// The digest of Rails' key generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDigest {
    /// Rails 6.1 and earlier (ActiveSupport's `KeyGenerator` default).
    Sha1,
    /// `load_defaults 7.0` and later (the default here).
    Sha256,
}

impl KeyDigest {
    /// From `SESSION_RAILS_KEY_DIGEST` (unset: `sha256`).
    pub fn parse(value: Option<&str>) -> Result<Self, SettingError> {
        match value.map(str::trim) {
            None | Some("sha256") => Ok(Self::Sha256),
            Some("sha1") => Ok(Self::Sha1),
            Some(_) => Err(SettingError {
                var: KEY_DIGEST_VAR,
                message: "must be sha256 (Rails 7.0+, the default) or sha1 (Rails 6.1 and \
                          earlier, or key_generator_hash_digest_class SHA1)"
                    .into(),
            }),
        }
    }

    /// The 32-byte cookie key derived from `secret_key_base`.
    pub fn derive(self, secret_key_base: &[u8]) -> [u8; 32] {
        let mut key = [0u8; 32];
        match self {
            Self::Sha1 => {
                pbkdf2::pbkdf2_hmac::<sha1::Sha1>(secret_key_base, SALT, ITERATIONS, &mut key)
            }
            Self::Sha256 => {
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(secret_key_base, SALT, ITERATIONS, &mut key)
            }
        }
        key
    }
}

/// Opens Rails' encrypted session cookie.
pub struct RailsCookie {
    name: String,
    purpose: String,
    // One cipher per secret_key_base, newest first.
    ciphers: Vec<Aes256Gcm>,
}

impl std::fmt::Debug for RailsCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RailsCookie({}, {} keys, redacted)",
            self.name,
            self.ciphers.len()
        )
    }
}

impl RailsCookie {
    /// The codec for cookie `name` under any of the `secret_key_base`
    /// values, newest first, with keys derived by `digest`.
    pub fn new<'a>(
        name: &str,
        digest: KeyDigest,
        secret_key_bases: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            purpose: format!("cookie.{name}"),
            ciphers: secret_key_bases
                .into_iter()
                .map(|s| Aes256Gcm::new(&digest.derive(s.as_bytes()).into()))
                .collect(),
        }
    }

    /// The session document in a (percent-decoded) cookie value, checked
    /// for purpose and expiry at `now_unix`.
    pub fn open(&self, value: &str, now_unix: u64) -> Result<Value, SessionError> {
        let plain = self.decrypt(value)?;
        if plain.starts_with(MARSHAL) {
            return Err(UNAUTH_MARSHAL);
        }
        let envelope: Value = serde_json::from_slice(&plain).map_err(|_| {
            SessionError::Unauthenticated(Reason::Malformed, "the Rails cookie is not JSON")
        })?;
        let meta = envelope.get("_rails").ok_or(SessionError::Unauthenticated(
            Reason::Malformed,
            "the Rails cookie has no purpose; enable use_cookies_with_metadata",
        ))?;
        if meta.get("pur").and_then(Value::as_str) != Some(self.purpose.as_str()) {
            return Err(SessionError::Unauthenticated(
                Reason::Malformed,
                "the Rails cookie was written for another cookie",
            ));
        }
        match meta.get("exp") {
            None | Some(Value::Null) => {}
            Some(Value::String(exp)) => match parse_iso8601_utc(exp) {
                Some(at) if now_unix < at => {}
                Some(_) => {
                    return Err(SessionError::Unauthenticated(
                        Reason::Expired,
                        "the session has expired",
                    ))
                }
                None => {
                    return Err(SessionError::Unauthenticated(
                        Reason::Malformed,
                        "the Rails cookie's expiry is unreadable",
                    ))
                }
            },
            Some(_) => {
                return Err(SessionError::Unauthenticated(
                    Reason::Malformed,
                    "the Rails cookie's expiry is unreadable",
                ))
            }
        }
        let message = meta
            .get("message")
            .and_then(Value::as_str)
            .and_then(|m| b64::standard_decode(m).ok())
            .ok_or(SessionError::Unauthenticated(
                Reason::Malformed,
                "the Rails cookie's message is malformed",
            ))?;
        if message.starts_with(MARSHAL) {
            return Err(UNAUTH_MARSHAL);
        }
        match serde_json::from_slice(&message) {
            Ok(session @ Value::Object(_)) => Ok(session),
            _ => Err(SessionError::Unauthenticated(
                Reason::Malformed,
                "the Rails session is not a JSON object",
            )),
        }
    }

    /// MessageEncryptor's `_encrypt` with the newest key and `iv`: the
    /// cookie value (before percent-encoding) for `plaintext`, for tests and
    /// fuzzing.
    pub fn seal(&self, plaintext: &[u8], iv: [u8; 12]) -> String {
        let cipher = self.ciphers.first().expect("at least one key");
        let mut sealed = cipher
            .encrypt(&Nonce::from(iv), plaintext)
            .expect("a plaintext within AES-GCM's limit");
        let tag = sealed.split_off(sealed.len() - 16);
        let encode = |x: &[u8]| b64::standard_encode(x);
        format!("{}--{}--{}", encode(&sealed), encode(&iv), encode(&tag))
    }

    /// MessageEncryptor's `_decrypt`: three strict-base64 parts, a 12-byte
    /// IV, a 16-byte tag; the first key that authenticates wins.
    fn decrypt(&self, value: &str) -> Result<Vec<u8>, SessionError> {
        const MALFORMED: SessionError =
            SessionError::Unauthenticated(Reason::Malformed, "the Rails cookie is malformed");
        let mut parts = value.split("--");
        let (Some(data), Some(iv), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(MALFORMED);
        };
        let decode = |part: &str| b64::standard_decode(part).map_err(|_| MALFORMED);
        let (mut sealed, iv, tag) = (decode(data)?, decode(iv)?, decode(tag)?);
        let iv: [u8; 12] = iv.try_into().map_err(|_| MALFORMED)?;
        if tag.len() != 16 {
            return Err(MALFORMED);
        }
        sealed.extend_from_slice(&tag);
        let nonce = Nonce::from(iv);
        self.ciphers
            .iter()
            .find_map(|cipher| {
                let payload = Payload {
                    msg: &sealed,
                    aad: b"",
                };
                cipher.decrypt(&nonce, payload).ok()
            })
            .ok_or(SessionError::Unauthenticated(
                Reason::BadSignature,
                "the Rails cookie does not decrypt under SESSION_SECRET",
            ))
    }
}

impl ClaimsCodec for RailsCookie {
    fn decode(&self, headers: &HeaderMap, now_unix: u64) -> Result<Value, SessionError> {
        let value = find_cookie(headers, &self.name).ok_or(SessionError::Unauthenticated(
            Reason::NoCookie,
            "no session cookie",
        ))?;
        self.open(&value, now_unix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A session ActionDispatch 6.1's cookie store wrote under
    /// `secret_key_base` "keyboard cat" with the SHA256 key generator
    /// (tests/formats/rails/write.rb), percent-decoded.
    const WRITTEN: &str = "9XzdcUpp3Lkp2WMMzyTL8Ey7NhXv467oZbDIH+m2a3p4Mu75x/e986O8bpa3jGT5HAvrZ+LA/EMMtSkNiMiqeavfOiM+Id7ggvCtqKw1LMXwwMj1aCgwMS8SdRJyPai5/TeWtVpWVmak67FCHrxPSbvIdYFVMT2eEZf5gZfrmGHCAp023c6Ir2MQZKZ0KsnQidq731CXaKK8WzOkOoXoHOEgaR6pXeb3FSrjQX0zvGe/3Tku--hzUo9KJgIq+ehPmI--Fq2ja8eLM1J5iDzedO6ciQ==";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn envelope(pur: Value, exp: Value, message: &[u8]) -> Vec<u8> {
        let m = b64::standard_encode(message);
        json!({"_rails": {"message": m, "exp": exp, "pur": pur}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn derives_keys_as_openssl_pbkdf2_in_ruby() {
        // OpenSSL::PKCS5.pbkdf2_hmac_sha1 / OpenSSL::KDF.pbkdf2_hmac(hash: "sha256").
        assert_eq!(
            hex(&KeyDigest::Sha1.derive(b"keyboard cat")),
            "6fcb28017e699775d296526855a72cfcf16671c5f0e2cf68da9b7f5535452603"
        );
        assert_eq!(
            hex(&KeyDigest::Sha256.derive(b"keyboard cat")),
            "83572f800a4652efae354057af7c2e8205cd079bb73b2003e9d2661713453b44"
        );
        assert_eq!(KeyDigest::parse(None), Ok(KeyDigest::Sha256));
        assert_eq!(KeyDigest::parse(Some("sha1")), Ok(KeyDigest::Sha1));
        assert!(KeyDigest::parse(Some("md5")).is_err());
    }

    #[test]
    fn opens_what_the_cookie_store_wrote_and_nothing_else() {
        let rails = RailsCookie::new("_app_session", KeyDigest::Sha256, ["new", "keyboard cat"]);
        let doc = rails.open(WRITTEN, 0).unwrap();
        assert_eq!(doc.pointer("/warden.user.user.key/0/0"), Some(&json!(7)));
        let sha1 = RailsCookie::new("_app_session", KeyDigest::Sha1, ["keyboard cat"]);
        let renamed = RailsCookie::new("_other", KeyDigest::Sha256, ["keyboard cat"]);
        assert!(sha1.open(WRITTEN, 0).is_err());
        assert!(renamed.open(WRITTEN, 0).is_err());
        assert!(rails.open(&WRITTEN.replacen('9', "8", 1), 0).is_err());
        assert!(rails.open(&format!("{WRITTEN}--"), 0).is_err());
    }

    #[test]
    fn checks_purpose_expiry_and_refuses_marshal() {
        let rails = RailsCookie::new("s", KeyDigest::Sha256, ["k"]);
        let session = br#"{"user":1}"#;
        let open = |plain: &[u8], now| rails.open(&rails.seal(plain, [7; 12]), now);
        assert!(open(&envelope(json!("cookie.s"), Value::Null, session), 0).is_ok());
        let exp = json!("2026-11-28T10:11:06.123Z");
        assert!(open(
            &envelope(json!("cookie.s"), exp.clone(), session),
            1_795_860_665
        )
        .is_ok());
        let expired = open(&envelope(json!("cookie.s"), exp, session), 1_795_860_666);
        let is = |r: Result<Value, SessionError>, why: &str| matches!(r, Err(SessionError::Unauthenticated(_, w)) if w == why);
        assert!(is(expired, "the session has expired"));
        for pur in [Value::Null, json!("cookie.t"), json!(1)] {
            assert!(open(&envelope(pur, Value::Null, session), 0).is_err());
        }
        assert!(open(session, 0).is_err(), "no envelope, no purpose");
        let marshal = b"\x04\x08{\x06I\"\x09user\x06:\x06ETi\x06";
        let marshal_reason =
            "the Rails session is Marshal-serialized; set cookies_serializer = :json";
        assert!(is(
            open(&envelope(json!("cookie.s"), Value::Null, marshal), 0),
            marshal_reason
        ));
        assert!(is(open(marshal, 0), marshal_reason));
        assert!(open(&envelope(json!("cookie.s"), Value::Null, b"[1]"), 0).is_err());
    }
}

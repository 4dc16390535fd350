//! iron-session v8: the session is JSON sealed by iron (`iron-webcrypto`)
//! in one cookie, `Fe26.2*<password id>*<salt>*<iv>*<ciphertext>*<expiry
//! ms>*<hmac salt>*<hmac>` followed by iron-session's `~2`. Read from
//! iron-session 8.0.4 and iron-webcrypto 1.2.1: each key is PBKDF2-SHA1 of
//! the password with the seal's salt *text* as salt, 1 iteration, 32 bytes;
//! AES-256-CBC with PKCS#7 padding; HMAC-SHA256 over the first six parts
//! joined by `*`, compared as URL-safe base64 without padding; a seal is
//! expired once its expiry is 60 s (iron's timestamp skew) in the past.

use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{ClaimsCodec, CodecAuthenticator};
use crate::b64;
use crate::metrics::CacheMetrics;
use crate::secret::Secret;
use crate::session::cookies::find_cookie;
use crate::session::Reason;
use crate::session::{
    FormatSettings, SessionAuthenticator, SessionConfig, SessionError, SettingError,
};

/// iron's seal prefix (`macPrefix`, format version 2).
const PREFIX: &str = "Fe26.2";

/// iron-session's persistence version after `~`; the only one read.
const SESSION_VERSION: &str = "2";

/// iron's `timestampSkewSec`: a seal is still accepted this long after its
/// expiry.
const TIMESTAMP_SKEW_MS: i128 = 60_000;

/// iron-session's and iron's `minPasswordlength`, in UTF-16 code units
/// (JavaScript's `string.length`).
pub const MIN_PASSWORD_LEN: usize = 32;

/// iron-session refuses to write a cookie over 4096 bytes; nothing longer
/// is worth deriving keys for.
const MAX_SEAL_LEN: usize = 4096;

/// The `iron-session` preset's [`Check`](crate::session::preset::Check):
/// every password has an id and at least 32 characters, as iron-session
/// itself requires, and no id is given twice.
pub fn check(config: &SessionConfig) -> Result<FormatSettings, SettingError> {
    passwords(config.secrets.iter().map(Secret::expose))
        .map(|passwords| FormatSettings::new(Passwords(passwords)))
        .map_err(|message| SettingError {
            var: "SESSION_SECRET",
            message,
        })
}

/// The preset's settings: the password map.
struct Passwords(Vec<(String, Secret)>);

/// The `iron-session` preset's [`Build`](crate::session::preset::Build).
pub fn build(
    config: &SessionConfig,
    _cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    let Passwords(passwords) = config.settings()?;
    let codec = IronSession::new(&config.cookie_name, passwords.clone());
    Ok(CodecAuthenticator::shared(codec, config))
}

/// `SESSION_SECRET`'s entries as iron-session's password map: `<id>=<password>`
/// (a decimal id, as in `password: {2: "..", 1: ".."}`) or a bare password,
/// which is id `1` (iron-session's `{1: password}` for a string). `Err`
/// says which entry is wrong, never its value.
pub fn passwords<'a>(
    entries: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(String, Secret)>, String> {
    let mut out: Vec<(String, Secret)> = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let n = i + 1;
        let (id, password) = match entry.split_once('=') {
            Some((id, password)) if is_decimal_id(id) => (id, password),
            _ => ("1", entry),
        };
        if password.encode_utf16().count() < MIN_PASSWORD_LEN {
            return Err(format!(
                "password {n} is under {MIN_PASSWORD_LEN} characters, which iron-session refuses too; \
                 generate one with `openssl rand -base64 32`"
            ));
        }
        if out.iter().any(|(seen, _)| seen == id) {
            return Err(format!(
                "password {n} has id {id} like an earlier one; give each password its own id \
                 (`2=<new>,1=<old>`; a bare password is id 1)"
            ));
        }
        out.push((id.to_owned(), Secret::new(password)));
    }
    Ok(out)
}

/// A password id as iron-session reads it from its map's keys: a number
/// written without leading zeros (the seal names it by `Number.toString`).
fn is_decimal_id(id: &str) -> bool {
    (1..=9).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_digit())
        && (id == "0" || !id.starts_with('0'))
}

/// Reads and verifies iron-session's sealed cookie.
pub struct IronSession {
    name: String,
    passwords: Vec<(String, Secret)>,
}

impl std::fmt::Debug for IronSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "IronSession({}, {} passwords, redacted)",
            self.name,
            self.passwords.len()
        )
    }
}

impl IronSession {
    /// The codec for cookie `name` with `(id, password)` pairs.
    pub fn new(name: &str, passwords: Vec<(String, Secret)>) -> Self {
        Self {
            name: name.to_owned(),
            passwords,
        }
    }

    /// The session document sealed in cookie value `value`, at `now_ms`
    /// (Unix time in milliseconds).
    pub fn unseal(&self, value: &str, now_ms: u64) -> Result<Value, SessionError> {
        let bad = SessionError::Unauthenticated;
        if value.len() > MAX_SEAL_LEN {
            return Err(bad(Reason::Malformed, "session cookie is too long"));
        }
        // iron-session v8 reads a seal without `~2` as the `persistent`
        // object of next-iron-session; the suffix is outside the MAC, so
        // stripping it would choose what is read. Only `~2` is accepted.
        let seal = match value.split_once('~') {
            Some((seal, SESSION_VERSION)) => seal,
            _ => {
                return Err(bad(
                    Reason::Malformed,
                    "session cookie is not an iron-session v2 seal",
                ))
            }
        };
        let parts: Vec<&str> = seal.split('*').collect();
        let [prefix, id, salt, iv, encrypted, expiry, mac_salt, mac] = parts[..] else {
            return Err(bad(Reason::Malformed, "session seal is malformed"));
        };
        if prefix != PREFIX {
            return Err(bad(Reason::Malformed, "session seal has another format"));
        }
        if !expiry.is_empty() {
            if !expiry.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(Reason::Malformed, "session seal expiry is malformed"));
            }
            let exp: u64 = expiry
                .parse()
                .map_err(|_| bad(Reason::Malformed, "session seal expiry is malformed"))?;
            if i128::from(exp) <= i128::from(now_ms) - TIMESTAMP_SKEW_MS {
                return Err(bad(Reason::Expired, "session has expired"));
            }
        }
        let password = self
            .passwords
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, p)| p.expose().as_bytes())
            .ok_or(bad(
                Reason::BadSignature,
                "session seal names an unknown password id",
            ))?;
        // iron draws a random salt when the seal's is empty, so such a seal
        // never verifies there; refuse it rather than derive from "".
        if salt.is_empty() || mac_salt.is_empty() {
            return Err(bad(Reason::Malformed, "session seal is malformed"));
        }
        // The first six parts as they stand in the seal.
        let mac_base = seal.rsplitn(3, '*').nth(2).unwrap_or_default();
        let mut hmac =
            <Hmac<Sha256>>::new_from_slice(&derive(password, mac_salt)).expect("any key length");
        hmac.update(mac_base.as_bytes());
        let expected = b64::url_encode(hmac.finalize().into_bytes());
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return Err(bad(
                Reason::BadSignature,
                "session seal integrity check failed",
            ));
        }
        let iv: [u8; 16] = b64::url_decode_any_padding(iv)
            .ok()
            .and_then(|iv| iv.try_into().ok())
            .ok_or(bad(Reason::Malformed, "session seal iv is malformed"))?;
        let mut buf = b64::url_decode_any_padding(encrypted)
            .map_err(|_| bad(Reason::Malformed, "session seal is not base64"))?;
        let plain = cbc::Decryptor::<aes::Aes256>::new(&derive(password, salt).into(), &iv.into())
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| bad(Reason::BadSignature, "session seal does not decrypt"))?;
        // iron answers `null` for an empty plaintext and iron-session reads
        // that (and a sealed `null`) as an empty session.
        if plain.is_empty() {
            return Ok(Value::Object(Map::new()));
        }
        match serde_json::from_slice(plain) {
            Ok(Value::Null) => Ok(Value::Object(Map::new())),
            Ok(doc) => Ok(doc),
            Err(_) => Err(bad(Reason::Malformed, "session seal is not JSON")),
        }
    }
}

/// iron's `generateKey` for a string password: PBKDF2-HMAC-SHA1, the salt's
/// text as salt, 1 iteration, 256 bits (AES-256 and SHA-256 alike).
fn derive(password: &[u8], salt: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2::<Hmac<Sha1>>(password, salt.as_bytes(), 1, &mut key)
        .expect("HMAC takes any key length");
    key
}

impl ClaimsCodec for IronSession {
    fn decode(&self, headers: &HeaderMap, now_unix: u64) -> Result<Value, SessionError> {
        let value = find_cookie(headers, &self.name).ok_or(SessionError::Unauthenticated(
            Reason::NoCookie,
            "no session cookie",
        ))?;
        self.unseal(&value, now_unix.saturating_mul(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "0123456789abcdefghij0123456789abcdef";

    /// What iron-session 8.0.4 wrote for `{userId: "carol"}` with
    /// `password: PASSWORD, ttl: 0` (no expiry).
    const SEAL: &str = include_str!("testdata/iron-session.seal").trim_ascii_end();

    fn codec(secrets: &[&str]) -> IronSession {
        IronSession::new("app_session", passwords(secrets.iter().copied()).unwrap())
    }

    #[test]
    fn opens_iron_sessions_own_seal_by_password_id() {
        let doc = codec(&[PASSWORD]).unseal(SEAL, 0).unwrap();
        assert_eq!(doc["userId"], "carol");
        let other = "another-password-0123456789abcdefghij";
        assert!(codec(&[&format!("2={other}"), &format!("1={PASSWORD}")])
            .unseal(SEAL, 0)
            .is_ok());
        for secrets in [[other], [&format!("2={PASSWORD}")]] {
            assert!(codec(&secrets).unseal(SEAL, 0).is_err());
        }
        // Without the version suffix, or with another one: refused.
        let bare = SEAL.trim_end_matches("~2");
        for value in [bare.to_owned(), format!("{bare}~1"), format!("{SEAL}~2")] {
            assert!(codec(&[PASSWORD]).unseal(&value, 0).is_err(), "{value}");
        }
    }

    #[test]
    fn passwords_are_ids_and_at_least_32_characters() {
        let ids: Vec<String> = passwords([&*format!("2={PASSWORD}"), PASSWORD])
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, ["2", "1"]);
        // 31 characters but 62 bytes: iron-session counts UTF-16 units.
        assert!(passwords(["é".repeat(31).as_str()]).is_err());
        assert!(passwords(["é".repeat(32).as_str()]).is_ok());
        assert!(passwords(["3=short", PASSWORD]).is_err());
        assert!(passwords([PASSWORD, &*format!("1={PASSWORD}")]).is_err());
        // Not an id: the whole entry is the password.
        let padded = format!("{PASSWORD}==");
        assert_eq!(passwords([padded.as_str()]).unwrap()[0].0, "1");
        assert_eq!(
            passwords([&*format!("07={PASSWORD}")]).unwrap()[0]
                .1
                .expose()
                .len(),
            39
        );
    }
}

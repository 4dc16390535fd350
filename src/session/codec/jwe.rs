//! The JWE compact tokens Auth.js (`@auth/core/jwt`) and NextAuth.js v4
//! (`next-auth/jwt`) write with `jose`: `alg: "dir"` (the derived key is
//! the content key, so the encrypted-key part is empty), content encrypted
//! with `A256CBC-HS512` or `A256GCM`, the protected header as the AAD, and
//! a JWT claims set as the plaintext. Only what those libraries write is
//! read; everything else is refused before any decryption.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, KeyIvInit};
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};

use crate::b64;
use crate::session::Reason;
use crate::session::SessionError;

/// `jwtDecrypt`'s `clockTolerance` in both libraries: `exp` and `nbf` are
/// judged with 15 seconds of leeway.
pub const CLOCK_TOLERANCE_SECS: u64 = 15;

/// The content encryption algorithms read (the header's `enc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    /// AES-256-CBC with HMAC-SHA-512 (RFC 7518 5.2.5): a 64-byte key, the
    /// first half for the MAC, a 16-byte IV and a 32-byte tag.
    A256CbcHs512,
    /// AES-256-GCM: a 32-byte key, a 12-byte IV and a 16-byte tag.
    A256Gcm,
}

impl Enc {
    /// The algorithm named `name`, if it is one of the two.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "A256CBC-HS512" => Some(Self::A256CbcHs512),
            "A256GCM" => Some(Self::A256Gcm),
            _ => None,
        }
    }

    /// The content key's length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::A256CbcHs512 => 64,
            Self::A256Gcm => 32,
        }
    }

    const fn iv_len(self) -> usize {
        match self {
            Self::A256CbcHs512 => 16,
            Self::A256Gcm => 12,
        }
    }

    const fn tag_len(self) -> usize {
        match self {
            Self::A256CbcHs512 => 32,
            Self::A256Gcm => 16,
        }
    }
}

/// HKDF-SHA256 of `secret` (its UTF-8 bytes, as `@panva/hkdf` encodes a
/// string) with `salt` and `info`, `len` bytes long.
pub fn derive_key(secret: &str, salt: &str, info: &str, len: usize) -> Vec<u8> {
    let mut key = vec![0; len];
    Hkdf::<Sha256>::new(Some(salt.as_bytes()), secret.as_bytes())
        .expand(info.as_bytes(), &mut key)
        .expect("64 bytes is within HKDF-SHA256's limit");
    key
}

/// The RFC 7638 thumbprint of `key` as an `oct` JWK, hashed with the SHA-2
/// of the key's size in bits (`sha512` for 64 bytes, `sha256` for 32), as
/// Auth.js computes the `kid` it writes.
pub fn thumbprint(key: &[u8]) -> String {
    let jwk = format!(r#"{{"k":"{}","kty":"oct"}}"#, b64::url_encode(key));
    match key.len() {
        64 => b64::url_encode(Sha512::digest(jwk.as_bytes())),
        _ => b64::url_encode(Sha256::digest(jwk.as_bytes())),
    }
}

/// The protected header fields read; unknown ones are ignored, as in jose.
#[derive(Deserialize)]
struct Header {
    alg: String,
    enc: String,
    kid: Option<String>,
    // Neither library writes these; jose refuses `zip` and unknown `crit`.
    zip: Option<Value>,
    crit: Option<Value>,
}

/// A parsed, not yet decrypted, `dir` JWE in compact form.
pub struct Jwe<'a> {
    aad: &'a str,
    enc: Enc,
    kid: Option<String>,
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
    tag: Vec<u8>,
}

fn bad(reason: Reason, why: &'static str) -> SessionError {
    SessionError::Unauthenticated(reason, why)
}

impl<'a> Jwe<'a> {
    /// Parses `token` (`header..iv.ciphertext.tag`): a JSON header with
    /// `alg: "dir"` and an `enc` in `allowed`, an empty encrypted key, and
    /// an IV and tag of that algorithm's sizes.
    pub fn parse(token: &'a str, allowed: &[Enc]) -> Result<Self, SessionError> {
        let mut parts = token.split('.');
        let (Some(header), Some(key), Some(iv), Some(ciphertext), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad(Reason::Malformed, "session token is not a compact JWE"));
        };
        let decode = |part: &str| {
            b64::url_decode(part)
                .map_err(|_| bad(Reason::Malformed, "session token is not base64url"))
        };
        let fields: Header = serde_json::from_slice(&decode(header)?)
            .map_err(|_| bad(Reason::Malformed, "session token header is not JSON"))?;
        if fields.alg != "dir" {
            return Err(bad(Reason::Malformed, "session token is not alg dir"));
        }
        let enc = Enc::from_name(&fields.enc)
            .filter(|e| allowed.contains(e))
            .ok_or(bad(Reason::Malformed, "session token enc is not allowed"))?;
        if fields.zip.is_some() || fields.crit.is_some() {
            return Err(bad(
                Reason::Malformed,
                "session token header has zip or crit",
            ));
        }
        if !key.is_empty() {
            return Err(bad(Reason::Malformed, "session token has an encrypted key"));
        }
        let (iv, tag) = (decode(iv)?, decode(tag)?);
        if iv.len() != enc.iv_len() || tag.len() != enc.tag_len() {
            return Err(bad(
                Reason::Malformed,
                "session token iv or tag has the wrong size",
            ));
        }
        Ok(Self {
            aad: header,
            enc,
            kid: fields.kid,
            iv,
            ciphertext: decode(ciphertext)?,
            tag,
        })
    }

    /// The header's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The plaintext under `key` (of `enc`'s length), or `None` when the
    /// tag does not verify (another key, or a tampered token).
    pub fn decrypt(&self, key: &[u8]) -> Option<Vec<u8>> {
        if key.len() != self.enc.key_len() {
            return None;
        }
        match self.enc {
            Enc::A256CbcHs512 => self.decrypt_cbc(key),
            Enc::A256Gcm => {
                let nonce: [u8; 12] = self.iv.as_slice().try_into().ok()?;
                let mut sealed = self.ciphertext.clone();
                sealed.extend_from_slice(&self.tag);
                Aes256Gcm::new_from_slice(key)
                    .ok()?
                    .decrypt(
                        &Nonce::from(nonce),
                        Payload {
                            msg: &sealed,
                            aad: self.aad.as_bytes(),
                        },
                    )
                    .ok()
            }
        }
    }

    /// RFC 7518 5.2.2: the MAC (over AAD, IV, ciphertext and the AAD's
    /// length in bits) is checked in constant time before decrypting.
    fn decrypt_cbc(&self, key: &[u8]) -> Option<Vec<u8>> {
        let (mac_key, enc_key) = key.split_at(32);
        let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(mac_key).ok()?;
        mac.update(self.aad.as_bytes());
        mac.update(&self.iv);
        mac.update(&self.ciphertext);
        mac.update(&(self.aad.len() as u64 * 8).to_be_bytes());
        mac.verify_truncated_left(&self.tag).ok()?;
        let mut buf = self.ciphertext.clone();
        let plain = cbc::Decryptor::<aes::Aes256>::new_from_slices(enc_key, &self.iv)
            .ok()?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .ok()?
            .len();
        buf.truncate(plain);
        Some(buf)
    }
}

/// The JWT claims set in `plaintext` as jose's `jwtDecrypt` judges it at
/// `now` with [`CLOCK_TOLERANCE_SECS`]: a JSON object whose `iat`, `nbf`
/// and `exp` are numbers when present, `nbf` not in the future and `exp`
/// not in the past. Both libraries always write `exp`, so one without it
/// is refused (jose alone would accept it).
pub fn claims(plaintext: &[u8], now: u64) -> Result<Value, SessionError> {
    let doc: Value = serde_json::from_slice(plaintext)
        .map_err(|_| bad(Reason::Malformed, "session token payload is not JSON"))?;
    let Value::Object(set) = &doc else {
        return Err(bad(
            Reason::Malformed,
            "session token payload is not an object",
        ));
    };
    let date = |claim: &str| match set.get(claim) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or(bad(Reason::Malformed, "session token date is not a number")),
        Some(_) => Err(bad(Reason::Malformed, "session token date is not a number")),
    };
    let now = now as f64;
    let tolerance = CLOCK_TOLERANCE_SECS as f64;
    date("iat")?;
    if date("nbf")?.is_some_and(|nbf| nbf > now + tolerance) {
        return Err(bad(Reason::Malformed, "session token is not yet valid"));
    }
    match date("exp")? {
        None => Err(bad(Reason::Malformed, "session token has no expiry")),
        Some(exp) if exp <= now - tolerance => Err(bad(Reason::Expired, "session token expired")),
        Some(_) => Ok(doc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hkdf_and_thumbprint_sizes() {
        let key = derive_key("secret", "authjs.session-token", "info", 64);
        assert_eq!(key.len(), 64);
        assert_ne!(key, derive_key("secret", "other", "info", 64));
        // SHA-512 and SHA-256 thumbprints, base64url without padding.
        assert_eq!(thumbprint(&key).len(), 86);
        assert_eq!(thumbprint(&key[..32]).len(), 43);
    }

    #[test]
    fn refuses_other_shapes_before_decrypting() {
        let header = |h: &str| b64::url_encode(h);
        let iv = b64::url_encode([0u8; 16]);
        let tag = b64::url_encode([0u8; 32]);
        let cbc = [Enc::A256CbcHs512];
        let good = header(r#"{"alg":"dir","enc":"A256CBC-HS512"}"#);
        assert!(Jwe::parse(&format!("{good}..{iv}.AAAA.{tag}"), &cbc).is_ok());
        for token in [
            format!("{good}..{iv}.AAAA"),
            format!("{good}.AAAA.{iv}.AAAA.{tag}"),
            format!("{good}..AAAA.AAAA.{tag}"),
            format!(
                "{}..{iv}.AAAA.{tag}",
                header(r#"{"alg":"A256KW","enc":"A256CBC-HS512"}"#)
            ),
            format!(
                "{}..{iv}.AAAA.{tag}",
                header(r#"{"alg":"dir","enc":"A128GCM"}"#)
            ),
            format!(
                "{}..{iv}.AAAA.{tag}",
                header(r#"{"alg":"dir","enc":"A256CBC-HS512","zip":"DEF"}"#)
            ),
            format!(
                "{}..{iv}.AAAA.{tag}",
                header(r#"{"alg":"dir","enc":"A256GCM"}"#)
            ),
        ] {
            assert!(Jwe::parse(&token, &cbc).is_err(), "{token}");
        }
    }

    #[test]
    fn judges_dates_with_fifteen_seconds_of_leeway() {
        let at = |json: &str| claims(json.as_bytes(), 1000);
        assert!(at(r#"{"exp":1001}"#).is_ok());
        assert!(at(r#"{"exp":986}"#).is_ok());
        assert!(at(r#"{"exp":985}"#).is_err());
        assert!(at(r#"{"sub":"a"}"#).is_err());
        assert!(at(r#"{"exp":"2000"}"#).is_err());
        assert!(at(r#"{"exp":2000,"nbf":1015}"#).is_ok());
        assert!(at(r#"{"exp":2000,"nbf":1016}"#).is_err());
        assert!(at(r#"{"exp":2000,"iat":"x"}"#).is_err());
        assert!(at("[1]").is_err());
    }
}

//! Cookie reading and the cookie-signature format (`s:<value>.<sig>`), as
//! Express's `cookie` and `cookie-signature` packages define them.

use std::borrow::Cow;

use actix_web::http::header::{HeaderMap, COOKIE};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Longest cookie value accepted before any parsing.
pub const MAX_COOKIE_VALUE: usize = 4096;

/// The first cookie called `name` across all `Cookie` headers, percent-decoded
/// (the rule Express applies). `None` when absent, not UTF-8, or badly encoded.
pub fn find_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<Cow<'a, str>> {
    for header in headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            if key.trim() != name {
                continue;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            if value.len() > MAX_COOKIE_VALUE {
                return None;
            }
            return percent_decode(value);
        }
    }
    None
}

/// Decodes `%XX` escapes; `None` on a malformed escape or non-UTF-8 result.
pub fn percent_decode(value: &str) -> Option<Cow<'_, str>> {
    if !value.contains('%') {
        return Some(Cow::Borrowed(value));
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// Percent-encodes a cookie value the way Express's `encodeURIComponent` does.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Verifies `s:<value>.<signature>` cookies against a list of secrets.
#[derive(Clone)]
pub struct CookieSigner {
    // Keyed HMAC states, newest secret first; cloning one skips re-keying.
    keys: Vec<Hmac<Sha256>>,
}

impl std::fmt::Debug for CookieSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CookieSigner({} secrets, redacted)", self.keys.len())
    }
}

/// Why a signed cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsignError {
    /// The value lacks the `s:` prefix.
    NotSigned,
    /// The value has no `.signature` part or the signature is not base64.
    Malformed,
    /// No configured secret produced this signature.
    BadSignature,
}

impl UnsignError {
    /// A short reason for debug logs.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotSigned => "session cookie is not signed",
            Self::Malformed => "session cookie is malformed",
            Self::BadSignature => "session cookie signature does not match",
        }
    }
}

impl CookieSigner {
    /// A signer for these secrets, newest first. Empty secrets are skipped.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let keys = secrets
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(|s| {
                Hmac::<Sha256>::new_from_slice(s.as_bytes()).expect("HMAC takes any key length")
            })
            .collect();
        Self { keys }
    }

    /// Returns the value inside a signed cookie (`s:` already included in
    /// `cookie`) when its signature matches any secret, in constant time.
    pub fn unsign<'c>(&self, cookie: &'c str) -> Result<&'c str, UnsignError> {
        let signed = cookie.strip_prefix("s:").ok_or(UnsignError::NotSigned)?;
        let (value, sig) = signed.rsplit_once('.').ok_or(UnsignError::Malformed)?;
        // cookie-signature writes 43 characters: base64 of 32 bytes, '=' stripped.
        if sig.len() != 43 {
            return Err(UnsignError::Malformed);
        }
        let sig = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(sig)
            .map_err(|_| UnsignError::Malformed)?;
        for key in &self.keys {
            let mut mac = key.clone();
            mac.update(value.as_bytes());
            if mac.verify_slice(&sig).is_ok() {
                return Ok(value);
            }
        }
        Err(UnsignError::BadSignature)
    }

    /// Signs `value` with the newest secret: `s:<value>.<sig>` (not yet
    /// percent-encoded). Used by dev mode and tests.
    pub fn sign(&self, value: &str) -> String {
        let mut mac = self.keys.first().expect("at least one secret").clone();
        mac.update(value.as_bytes());
        let sig =
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(mac.finalize().into_bytes());
        format!("s:{value}.{sig}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_cookie_signature_package() {
        // cookie-signature: sign('hello', 'tobiiscool') from its own test suite.
        let signer = CookieSigner::new(["tobiiscool"]);
        assert_eq!(
            signer.sign("hello"),
            "s:hello.DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QI"
        );
        assert_eq!(signer.unsign(&signer.sign("a.b.c")), Ok("a.b.c"));
    }

    #[test]
    fn rejects_bad_forms() {
        let signer = CookieSigner::new(["k"]);
        assert_eq!(signer.unsign("hello"), Err(UnsignError::NotSigned));
        assert_eq!(signer.unsign("s:hello"), Err(UnsignError::Malformed));
        let good = signer.sign("hello");
        let tampered = good.replacen("hello", "hellp", 1);
        assert_eq!(signer.unsign(&tampered), Err(UnsignError::BadSignature));
    }

    #[test]
    fn percent_round_trip() {
        let raw = "s:a b+c/d.e=";
        assert_eq!(percent_decode(&percent_encode(raw)).unwrap(), raw);
        assert!(percent_decode("%zz").is_none());
        assert!(percent_decode("%ff").is_none());
        assert!(percent_decode("%4").is_none());
    }
}

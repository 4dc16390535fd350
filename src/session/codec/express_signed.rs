//! The cookie-signature format (`s:<value>.<sig>`) that Express's
//! `cookie-parser` and `express-session` write.

use hmac::Hmac;
use sha2::Sha256;

use super::mac::MacKeys;
use crate::b64;

/// Verifies `s:<value>.<signature>` cookies against a list of secrets.
#[derive(Clone)]
pub struct CookieSigner {
    // Keyed HMAC states, newest secret first; cloning one skips re-keying.
    keys: MacKeys<Hmac<Sha256>>,
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
        Self {
            keys: MacKeys::new(secrets.into_iter().filter(|s| !s.is_empty())),
        }
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
        let sig = b64::standard_decode_no_padding(sig).map_err(|_| UnsignError::Malformed)?;
        match self.keys.verify(&[value.as_bytes()], &sig) {
            Some(_) => Ok(value),
            None => Err(UnsignError::BadSignature),
        }
    }

    /// Signs `value` with the newest secret: `s:<value>.<sig>` (not yet
    /// percent-encoded). Used by dev mode and tests.
    pub fn sign(&self, value: &str) -> String {
        let sig = b64::standard_encode_no_padding(self.keys.sign(&[value.as_bytes()]));
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
}

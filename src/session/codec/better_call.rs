//! better-call's signed cookies (better-auth's session token):
//! `<value>.<base64(HMAC-SHA256(secret, value))>`, standard base64 with its
//! padding.

use hmac::Hmac;
use sha2::Sha256;

use super::mac::MacKeys;
use crate::b64;

/// Length of better-call's signature: base64 of 32 bytes, padded.
const SIGNATURE_LEN: usize = 44;

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
}

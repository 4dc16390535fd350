//! [`Secret`]: a string that never shows itself in `Debug` output, and
//! the judgement of whether a secret is strong enough to be a root of trust
//! (used wherever a secret is read: `config` and the session formats).

use std::fmt;

/// Shortest accepted secret that vouches alone (an HS256 key, an admin key,
/// a cookie secret), in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Fewest distinct bytes a secret must have: a 32-byte string of one
/// repeated character passes a length check but is guessable.
const MIN_DISTINCT_BYTES: usize = 8;

/// A secret string (signing key, cookie secret, API key). Its `Debug` and
/// `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value; call only where the secret is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Why `secret` cannot be a root of trust (signing tokens or cookies, or
/// admin access), if it cannot. Never includes the secret itself.
pub fn weakness(secret: &str) -> Option<String> {
    if let Some(why) = untrimmed(secret) {
        return Some(why);
    }
    if secret.len() < MIN_SECRET_BYTES {
        return Some(format!(
            "must be at least {MIN_SECRET_BYTES} bytes, got {}; generate one with `openssl rand -base64 48`",
            secret.len()
        ));
    }
    let mut seen = [false; 256];
    secret.bytes().for_each(|b| seen[usize::from(b)] = true);
    let distinct = seen.iter().filter(|s| **s).count();
    if distinct < MIN_DISTINCT_BYTES {
        return Some(format!(
            "has only {distinct} distinct characters, so it is easy to guess; generate one with `openssl rand -base64 48`"
        ));
    }
    None
}

/// Why `secret` would be read differently by another program, if it would:
/// whitespace at either end (a verifier reading the raw value would use
/// another key than a reader that trims it).
pub fn untrimmed(secret: &str) -> Option<String> {
    (secret.trim() != secret).then(|| {
        "starts or ends with whitespace, which other programs keep and this one would have to drop; \
         remove it (separate several secrets with a bare comma)"
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_secrets() {
        assert!(weakness("keyboard cat").is_some());
        assert!(weakness(&"a".repeat(48)).is_some());
        assert!(weakness(&"ab".repeat(24)).is_some());
        assert!(weakness(" 0123456789abcdef0123456789abcdef").is_some());
        assert!(weakness("0123456789abcdef0123456789abcdef ").is_some());
        assert!(weakness("0123456789abcdef0123456789abcdef").is_none());
        assert!(!weakness(&"z".repeat(40)).unwrap().contains("zzz"));
    }
}

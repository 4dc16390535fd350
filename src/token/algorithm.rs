//! [`SigningAlgorithm`]: `JWT_ALGORITHM`, the one `alg` tokens are signed
//! and verified with.

use std::fmt;
use std::str::FromStr;

use jsonwebtoken::Algorithm;

/// How tokens are signed: the `alg` header, pinned when verifying.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// HMAC-SHA256 with a shared secret (`JWT_SECRET` / `JWT_KEYS`): what
    /// the SDK's realtime server verifies. The default.
    #[default]
    HS256,
    /// ECDSA on P-256 with SHA-256 (`JWT_PRIVATE_KEY_FILE`).
    ES256,
    /// Ed25519 (`JWT_PRIVATE_KEY_FILE`).
    EdDSA,
}

impl SigningAlgorithm {
    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    /// The same algorithm in `jsonwebtoken`'s terms.
    pub fn jwt(self) -> Algorithm {
        match self {
            Self::HS256 => Algorithm::HS256,
            Self::ES256 => Algorithm::ES256,
            Self::EdDSA => Algorithm::EdDSA,
        }
    }

    /// True for ES256 and EdDSA: a private key signs, public keys verify.
    pub fn is_asymmetric(self) -> bool {
        self != Self::HS256
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlgorithm {
    type Err = String;

    /// Exactly `HS256`, `ES256` or `EdDSA`, as the `alg` header spells them.
    fn from_str(text: &str) -> Result<Self, String> {
        let all = [Self::HS256, Self::ES256, Self::EdDSA];
        if let Some(alg) = all.iter().find(|a| a.as_str() == text) {
            return Ok(*alg);
        }
        Err(match all.iter().find(|a| a.as_str().eq_ignore_ascii_case(text)) {
            Some(alg) => format!("`{text}`: write it as `{alg}`, as the `alg` header spells it"),
            None => format!(
                "`{text}` is not supported; use HS256 (the default, a shared secret), ES256 (P-256) or EdDSA (Ed25519)"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_exact() {
        assert_eq!("EdDSA".parse(), Ok(SigningAlgorithm::EdDSA));
        assert_eq!("ES256".parse(), Ok(SigningAlgorithm::ES256));
        assert!("eddsa"
            .parse::<SigningAlgorithm>()
            .unwrap_err()
            .contains("`EdDSA`"));
        assert!("RS256"
            .parse::<SigningAlgorithm>()
            .unwrap_err()
            .contains("not supported"));
    }
}

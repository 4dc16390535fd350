//! [`JwtConfig`]: the token settings (`config` reads them from the
//! environment), and [`parse_duration`], the syntax of every duration
//! setting (`config`'s and the session backends' own).

use std::sync::Arc;
use std::time::Duration;

use super::{jwks, PrivateKey, PublicKey, SigningAlgorithm};
use crate::secret::Secret;

/// Token signing settings.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// `JWT_ALGORITHM` and its keys.
    pub signing: Signing,
    /// `JWT_LEEWAY`: clock skew tolerated on `exp` and `nbf` when verifying.
    pub leeway: Duration,
    /// `JWT_ISSUER`: the `iss` claim when set.
    pub issuer: Option<String>,
    /// `JWT_AUDIENCE`: the `aud` claim when set.
    pub audience: Option<String>,
    /// `TOKEN_TTL`: token lifetime, default one hour.
    pub ttl: Duration,
    /// Variables that are set but that this signing mode does not read
    /// (the HS256 secrets under ES256/EdDSA): warned about at start-up.
    pub unused: Vec<&'static str>,
}

/// How tokens are signed.
#[derive(Debug, Clone)]
pub enum Signing {
    /// HS256 keys, the signing key first: `JWT_KEYS` (with key ids), then
    /// `JWT_SECRET` (or `TEST_JWT_SECRET`, without an id). Never empty.
    Hmac(Vec<JwtKey>),
    /// ES256 or EdDSA: a private key signs, public keys verify.
    Asymmetric(KeySet),
}

/// One HS256 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtKey {
    /// The `kid` header value, when the key has an id.
    pub kid: Option<String>,
    /// The secret: raw UTF-8 bytes, at least 32 of them.
    pub secret: Secret,
}

/// The keys of ES256 or EdDSA signing.
#[derive(Debug, Clone)]
pub struct KeySet {
    /// `JWT_PRIVATE_KEY_FILE`'s key (its `kid`: `JWT_KEY_ID`, else its
    /// thumbprint): signs every token.
    pub signing: Arc<PrivateKey>,
    /// Where the signing key was read from (shown by `check-config`).
    pub signing_file: String,
    /// `JWT_PUBLISHED_KEY_FILES`: other public keys in the JWKS (the next
    /// key before it signs, the previous one until its tokens expire).
    pub published: Vec<PublicKey>,
}

impl KeySet {
    /// Every public key a verifier may need: the signing key's first.
    pub fn public_keys(&self) -> impl Iterator<Item = &PublicKey> {
        std::iter::once(self.signing.public()).chain(&self.published)
    }
}

/// What a verifier checks besides the signature; the part of
/// [`JwtConfig`] a verifier without the signing keys needs.
#[derive(Debug, Clone, Default)]
pub struct VerifyRules {
    /// The only `alg` accepted.
    pub algorithm: SigningAlgorithm,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// `iss` required and equal, when set.
    pub issuer: Option<String>,
    /// `aud` required and matching, when set.
    pub audience: Option<String>,
}

impl JwtConfig {
    /// The algorithm tokens are signed with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        match &self.signing {
            Signing::Hmac(_) => SigningAlgorithm::HS256,
            Signing::Asymmetric(set) => set.signing.public().alg(),
        }
    }

    /// The HS256 keys (none under ES256/EdDSA).
    pub fn hmac_keys(&self) -> &[JwtKey] {
        match &self.signing {
            Signing::Hmac(keys) => keys,
            Signing::Asymmetric(_) => &[],
        }
    }

    /// The rules tokens signed with these settings are verified by.
    pub fn rules(&self) -> VerifyRules {
        VerifyRules {
            algorithm: self.algorithm(),
            leeway: self.leeway,
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
        }
    }

    /// The JWKS document served at `/.well-known/jwks.json`: `None` under
    /// HS256, whose secret is never published.
    pub fn jwks(&self) -> Option<String> {
        match &self.signing {
            Signing::Hmac(_) => None,
            Signing::Asymmetric(set) => Some(jwks::render(set.public_keys())),
        }
    }

    /// One line saying how tokens are signed and who can verify them
    /// (`check-config`, dev mode and the start-up log).
    pub fn describe_signing(&self) -> String {
        match &self.signing {
            Signing::Hmac(keys) => format!(
                "HS256 with a shared secret ({} key(s)); verifiers need the secret; no JWKS (/.well-known/jwks.json answers 404)",
                keys.len()
            ),
            Signing::Asymmetric(set) => format!(
                "{} with the private key in {} (kid {}); verifiers read the public keys at /.well-known/jwks.json ({} key(s))",
                self.algorithm(),
                set.signing_file,
                set.signing.public().kid(),
                set.public_keys().count()
            ),
        }
    }
}

/// Parses `3600` (seconds), `500ms`, `90s`, `15m`, `1h`, `2d` and sums like `1h30m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().map(Duration::from_secs);
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit_ms, len) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match rest.bytes().next()? {
                b's' => (1_000, 1),
                b'm' => (60_000, 1),
                b'h' => (3_600_000, 1),
                b'd' => (86_400_000, 1),
                _ => return None,
            }
        };
        rest = &rest[len..];
        total_ms = total_ms.checked_add(n.checked_mul(unit_ms)?)?;
    }
    Some(Duration::from_millis(total_ms))
}

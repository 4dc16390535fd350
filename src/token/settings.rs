//! [`JwtConfig`]: the token settings (`config` reads them from the
//! environment).

use std::time::Duration;

use crate::secret::Secret;

/// Token signing settings.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// HS256 keys, the signing key first: `JWT_KEYS` (with key ids), then
    /// `JWT_SECRET` (or `TEST_JWT_SECRET`, without an id). Never empty.
    pub keys: Vec<JwtKey>,
    /// `JWT_LEEWAY`: clock skew tolerated on `exp` and `nbf` when verifying.
    pub leeway: Duration,
    /// `JWT_ISSUER`: the `iss` claim when set.
    pub issuer: Option<String>,
    /// `JWT_AUDIENCE`: the `aud` claim when set.
    pub audience: Option<String>,
    /// `TOKEN_TTL`: token lifetime, default one hour.
    pub ttl: Duration,
}

/// One HS256 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtKey {
    /// The `kid` header value, when the key has an id.
    pub kid: Option<String>,
    /// The secret: raw UTF-8 bytes, at least 32 of them.
    pub secret: Secret,
}

impl JwtConfig {
    /// The key new tokens are signed with.
    pub fn signing_key(&self) -> &JwtKey {
        &self.keys[0]
    }
}

//! Token claims, the HS256 [`TokenIssuer`] and the [`TokenVerifier`] that a
//! realtime server (or `realtime-token verify`) uses to check them.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use jsonwebtoken::{Algorithm, Header};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::policy::room_matches;

mod settings;
mod verify;

pub use settings::{JwtConfig, JwtKey};
pub use verify::{TokenVerifier, VerifyError};

/// The token's `permissions` claim, exactly as the SDK documents it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// Room patterns the holder may join (`document-*`, `user-alice`, `*`).
    pub rooms: Vec<String>,
}

/// `aud` as JWT allows it: one string or a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

/// The claims this service signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Issued at, unix seconds; `0` when a verified token has none (`iat`
    /// is optional when verifying; this service always sets it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub iat: u64,
    /// Expires at, unix seconds.
    pub exp: u64,
    /// Unique token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Room access; tokens from elsewhere may lack it (then no room is granted).
    #[serde(default)]
    pub permissions: Permissions,
    /// Issuer, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
}

impl Claims {
    /// True when one of the granted patterns matches `room`.
    ///
    /// ```
    /// # use realtime_token::token::{Claims, Permissions};
    /// let claims = Claims {
    ///     sub: "alice".into(), iat: 0, exp: 0, jti: None, iss: None, aud: None,
    ///     permissions: Permissions { rooms: vec!["document-*".into()] },
    /// };
    /// assert!(claims.can_join("document-42"));
    /// assert!(!claims.can_join("admin"));
    /// ```
    pub fn can_join(&self, room: &str) -> bool {
        self.permissions.rooms.iter().any(|p| room_matches(p, room))
    }
}

/// A freshly signed token, as the endpoint returns it.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// `exp`, unix seconds.
    pub expires_at: u64,
    /// Seconds from issue to `exp` (the TTL): lets a client schedule its
    /// refresh on its own monotonic clock, whatever its wall clock says.
    pub expires_in: u64,
    /// The granted room patterns.
    pub rooms: Vec<String>,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("expires_in", &self.expires_in)
            .field("rooms", &self.rooms)
            .finish()
    }
}

/// Signing failed (only on a broken crypto backend).
#[derive(Debug, thiserror::Error)]
#[error("signing the token failed: {0}")]
pub struct SignError(String);

/// Signs HS256 tokens with the configured secret, issuer, audience and TTL.
///
/// The bytes are `jsonwebtoken::encode`'s (base64url JSON header, claims and
/// HMAC-SHA256, see the test), but the key is set up once: `encode` keys a
/// new HMAC (two SHA-256 blocks) and re-encodes the fixed header per token.
pub struct TokenIssuer {
    key: Hmac<Sha256>,
    /// `base64url(JSON header) + "."`.
    header: String,
    issuer: Option<String>,
    audience: Option<String>,
    ttl: Duration,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("key", &"[redacted]")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl TokenIssuer {
    /// An issuer for this configuration.
    pub fn new(config: &JwtConfig) -> Self {
        let signing = config.signing_key();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = signing.kid.clone();
        let json = serde_json::to_vec(&header).expect("a JWT header serializes");
        Self {
            key: Hmac::new_from_slice(signing.secret.expose().as_bytes())
                .expect("HMAC takes any key length"),
            header: format!("{}.", URL_SAFE_NO_PAD.encode(json)),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl: config.ttl,
        }
    }

    /// The same issuer with another lifetime (the CLI's `--ttl`).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Signs a token for `sub` granting `rooms`, valid from now for the TTL.
    pub fn issue(&self, sub: &str, rooms: Vec<String>) -> Result<IssuedToken, SignError> {
        self.issue_at(sub, rooms, unix_now())
    }

    /// Signs a token as if issued at `iat` (unix seconds).
    pub fn issue_at(
        &self,
        sub: &str,
        rooms: Vec<String>,
        iat: u64,
    ) -> Result<IssuedToken, SignError> {
        let exp = iat + self.ttl.as_secs();
        let claims = Claims {
            sub: sub.to_owned(),
            iat,
            exp,
            jti: Some(new_jti()),
            permissions: Permissions { rooms },
            iss: self.issuer.clone(),
            aud: self.audience.clone().map(Audience::One),
        };
        let token = self.sign(&claims)?;
        Ok(IssuedToken {
            token,
            expires_at: exp,
            expires_in: exp - iat,
            rooms: claims.permissions.rooms,
        })
    }
}

impl TokenIssuer {
    /// `header.claims.signature`, each part base64url without padding.
    fn sign(&self, claims: &Claims) -> Result<String, SignError> {
        let json = serde_json::to_vec(claims).map_err(|e| SignError(e.to_string()))?;
        let mut token = String::with_capacity(self.header.len() + json.len() * 4 / 3 + 48);
        token.push_str(&self.header);
        URL_SAFE_NO_PAD.encode_string(&json, &mut token);
        let mut mac = self.key.clone();
        mac.update(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), &mut token);
        Ok(token)
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Seconds since the unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 128 random bits, base64url: unique per token.
fn new_jti() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn tokens_are_the_bytes_jsonwebtoken_encode_writes() {
        let secret = "0123456789abcdef0123456789abcdef-\u{e9}";
        for (kid, issuer, audience) in [
            (None, None, None),
            (
                Some("k-1"),
                Some("https://issuer.example"),
                Some("realtime"),
            ),
        ] {
            let config = JwtConfig {
                keys: vec![JwtKey {
                    kid: kid.map(Into::into),
                    secret: Secret::new(secret),
                }],
                leeway: Duration::ZERO,
                issuer: issuer.map(Into::into),
                audience: audience.map(Into::into),
                ttl: Duration::from_secs(3600),
            };
            let issuer = TokenIssuer::new(&config);
            let issued = issuer
                .issue_at(
                    "alice \"\u{2028}",
                    vec!["document-*".into(), "room:1".into()],
                    1_800_000_000,
                )
                .unwrap();
            let claims: Claims = jsonwebtoken::dangerous::insecure_decode(&issued.token)
                .unwrap()
                .claims;
            let mut header = Header::new(Algorithm::HS256);
            header.kid = kid.map(Into::into);
            let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
            assert_eq!(
                issued.token,
                jsonwebtoken::encode(&header, &claims, &key).unwrap()
            );
        }
    }
}

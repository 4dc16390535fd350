//! Token claims, the [`TokenIssuer`] (HS256, ES256 or EdDSA, signed with
//! `ring`), the public keys and JWKS of the asymmetric modes, and the
//! [`TokenVerifier`] that a realtime server (or `realtime-token verify`)
//! uses to check tokens.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::Header;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::b64;
use crate::policy::room_matches;

mod algorithm;
mod der;
pub mod jwks;
mod keys;
mod settings;
mod verify;

pub use algorithm::SigningAlgorithm;
pub use jwks::JwksError;
pub use keys::{KeyError, PrivateKey, PublicKey};
pub use settings::{parse_duration, JwtConfig, JwtKey, KeySet, Signing, VerifyRules};
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

/// What signs: an HMAC key (HS256) or a private key (ES256, EdDSA).
enum Signer {
    Hmac(ring::hmac::Key),
    Private(Arc<PrivateKey>),
}

/// Signs tokens with the configured key, issuer, audience and TTL.
pub struct TokenIssuer {
    signer: Signer,
    /// The encoded header (`alg`, `typ`, `kid`), the same for every token.
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
        let mut header = Header::new(config.algorithm().jwt());
        let signer = match &config.signing {
            Signing::Hmac(keys) => {
                let key = &keys[0];
                header.kid = key.kid.clone();
                Signer::Hmac(ring::hmac::Key::new(
                    ring::hmac::HMAC_SHA256,
                    key.secret.expose().as_bytes(),
                ))
            }
            Signing::Asymmetric(set) => {
                header.kid = Some(set.signing.public().kid().to_owned());
                Signer::Private(set.signing.clone())
            }
        };
        Self {
            signer,
            header: b64::url_encode(serde_json::to_vec(&header).expect("serializable")),
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
        let token = self.encode(&claims)?;
        Ok(IssuedToken {
            token,
            expires_at: exp,
            expires_in: exp - iat,
            rooms: claims.permissions.rooms,
        })
    }

    /// The compact JWS of `claims`: header, payload and signature, each
    /// base64url.
    fn encode(&self, claims: &Claims) -> Result<String, SignError> {
        let payload = serde_json::to_vec(claims).map_err(|e| SignError(e.to_string()))?;
        let mut token = format!("{}.{}", self.header, b64::url_encode(payload));
        let signature = match &self.signer {
            Signer::Hmac(key) => ring::hmac::sign(key, token.as_bytes()).as_ref().to_vec(),
            Signer::Private(key) => key.sign(token.as_bytes()).map_err(|e| SignError(e.0))?,
        };
        token.push('.');
        token.push_str(&b64::url_encode(signature));
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
    b64::url_encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hs256_tokens_are_byte_for_byte_what_jsonwebtoken_writes() {
        let config = JwtConfig {
            signing: Signing::Hmac(vec![JwtKey {
                kid: Some("k1".into()),
                secret: crate::secret::Secret::new("a-secret-of-at-least-32-bytes-0123456789"),
            }]),
            leeway: Duration::ZERO,
            issuer: Some("app".into()),
            audience: None,
            ttl: Duration::from_secs(60),
            unused: Vec::new(),
        };
        let claims = Claims {
            sub: "alice".into(),
            iat: 1,
            exp: 61,
            jti: Some("j".into()),
            permissions: Permissions {
                rooms: vec!["document-*".into()],
            },
            iss: Some("app".into()),
            aud: None,
        };
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("k1".into());
        let key =
            jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-32-bytes-0123456789");
        assert_eq!(
            TokenIssuer::new(&config).encode(&claims).unwrap(),
            jsonwebtoken::encode(&header, &claims, &key).unwrap()
        );
    }
}

//! Token claims, the HS256 [`TokenIssuer`] and the [`TokenVerifier`] that a
//! realtime server (or `realtime-token verify`) uses to check them.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::config::JwtConfig;
use crate::policy::room_matches;

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
    /// Issued at, unix seconds.
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
    /// The granted room patterns.
    pub rooms: Vec<String>,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("rooms", &self.rooms)
            .finish()
    }
}

/// Signing failed (only on a broken crypto backend).
#[derive(Debug, thiserror::Error)]
#[error("signing the token failed: {0}")]
pub struct SignError(String);

/// Signs HS256 tokens with the configured secret, issuer, audience and TTL.
pub struct TokenIssuer {
    key: EncodingKey,
    header: Header,
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
        Self {
            key: EncodingKey::from_secret(signing.secret.expose().as_bytes()),
            header,
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
        let token = jsonwebtoken::encode(&self.header, &claims, &self.key)
            .map_err(|e| SignError(e.to_string()))?;
        Ok(IssuedToken {
            token,
            expires_at: exp,
            rooms: claims.permissions.rooms,
        })
    }
}

/// Why a token was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not three base64url parts of JSON.
    #[error("the token is malformed")]
    Malformed,
    /// The header names another algorithm than HS256 (e.g. `none`).
    #[error("the token is not signed with HS256")]
    WrongAlgorithm,
    /// The signature does not match the secret.
    #[error("the signature does not match the secret")]
    BadSignature,
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `iss` differs from the configured issuer.
    #[error("the issuer (iss) does not match")]
    WrongIssuer,
    /// `aud` differs from the configured audience.
    #[error("the audience (aud) does not match")]
    WrongAudience,
    /// A required claim is absent or empty.
    #[error("the `{0}` claim is missing or empty")]
    MissingClaim(String),
    /// A claim has the wrong type.
    #[error("the `{0}` claim has the wrong type")]
    BadClaim(String),
    /// The `kid` names no configured key (e.g. a removed one).
    #[error("the token's key id `{0}` is not configured")]
    UnknownKey(String),
}

/// Verifies tokens: HS256 pinned; `exp` and `sub` required; `iss`/`aud`
/// required and checked when configured; any configured key (by `kid`).
///
/// ```
/// use realtime_token::config::jwt_from_lookup;
/// use realtime_token::{TokenIssuer, TokenVerifier};
///
/// let env = |k: &str| match k {
///     "JWT_SECRET" => Some("a-secret-of-at-least-32-bytes-0123456789".to_owned()),
///     "JWT_AUDIENCE" => Some("realtime-sdk".to_owned()),
///     _ => None,
/// };
/// let jwt = jwt_from_lookup(&env).unwrap();
/// let issued = TokenIssuer::new(&jwt).issue("alice", vec!["document-*".into()]).unwrap();
///
/// let claims = TokenVerifier::new(&jwt).verify(&issued.token).unwrap();
/// assert_eq!(claims.sub, "alice");
/// assert!(claims.can_join("document-42"));
/// assert!(!claims.can_join("user-bob"));
/// ```
pub struct TokenVerifier {
    keys: Vec<(Option<String>, DecodingKey)>,
    validation: Validation,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<_> = self.keys.iter().map(|(kid, _)| kid).collect();
        f.debug_struct("TokenVerifier")
            .field("keys", &kids)
            .field("validation", &self.validation)
            .finish()
    }
}

impl TokenVerifier {
    /// A verifier with the same settings the issuer signs with, accepting
    /// every configured key.
    pub fn new(config: &JwtConfig) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        let mut required = vec!["exp", "sub"];
        validation.leeway = config.leeway.as_secs();
        match &config.issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &config.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                // Without this a token lacking `aud` would pass the check.
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let keys = config
            .keys
            .iter()
            .map(|k| {
                (
                    k.kid.clone(),
                    DecodingKey::from_secret(k.secret.expose().as_bytes()),
                )
            })
            .collect();
        Self { keys, validation }
    }

    /// The same verifier with another leeway for `exp`, in seconds.
    pub fn with_leeway(mut self, secs: u64) -> Self {
        self.validation.leeway = secs;
        self
    }

    /// Checks `token` and returns its claims. A token with a `kid` is
    /// checked with that key only; one without, with each key in turn.
    pub fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let token = token.trim();
        let header = jsonwebtoken::decode_header(token).map_err(map_error)?;
        if header.alg != Algorithm::HS256 {
            return Err(VerifyError::WrongAlgorithm);
        }
        let candidates: Vec<&DecodingKey> = match &header.kid {
            Some(kid) => {
                let key = self
                    .keys
                    .iter()
                    .find(|(k, _)| k.as_deref() == Some(kid.as_str()))
                    .ok_or_else(|| VerifyError::UnknownKey(kid.chars().take(64).collect()))?;
                vec![&key.1]
            }
            None => self.keys.iter().map(|(_, key)| key).collect(),
        };
        let mut outcome = Err(VerifyError::BadSignature);
        for key in candidates {
            outcome =
                jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(map_error);
            // Only a signature mismatch means another key might fit.
            if !matches!(outcome, Err(VerifyError::BadSignature)) {
                break;
            }
        }
        let claims = outcome?.claims;
        if claims.sub.is_empty() {
            return Err(VerifyError::MissingClaim("sub".into()));
        }
        Ok(claims)
    }
}

fn map_error(e: jsonwebtoken::errors::Error) -> VerifyError {
    match e.kind() {
        ErrorKind::InvalidSignature => VerifyError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm => VerifyError::WrongAlgorithm,
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
        ErrorKind::InvalidAudience => VerifyError::WrongAudience,
        ErrorKind::MissingRequiredClaim(c) => VerifyError::MissingClaim(c.clone()),
        ErrorKind::InvalidClaimFormat(c) => VerifyError::BadClaim(c.clone()),
        ErrorKind::Json(_) => VerifyError::BadClaim("payload".into()),
        _ => VerifyError::Malformed,
    }
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
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

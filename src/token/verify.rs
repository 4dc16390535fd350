//! [`TokenVerifier`]: checks the tokens [`super::TokenIssuer`] signs.

use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::Claims;
use crate::config::JwtConfig;

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

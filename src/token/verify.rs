//! [`TokenVerifier`]: the rules `realtime-token verify` and a Rust realtime
//! server apply to a token (docs/src/endpoint.md, "Verification rules").

use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Header, Validation};
use serde_json::{Map, Value};

use super::jwks::{self, JwksError};
use super::{Claims, JwtConfig, Signing, SigningAlgorithm, VerifyRules};
use crate::b64;

/// Why a token was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not three base64url parts of JSON.
    #[error("the token is malformed")]
    Malformed,
    /// The header's `alg` is not exactly the configured one (e.g. `none`,
    /// or `HS256` where ES256 is configured), or is absent.
    #[error("the token is not signed with {0}")]
    WrongAlgorithm(SigningAlgorithm),
    /// The header has `crit`: extensions this verifier does not implement
    /// must not be ignored (RFC 7515 §4.1.11).
    #[error(
        "the token's header has `crit` (critical extensions), which this verifier does not support"
    )]
    CriticalHeader,
    /// The signature does not match the key (the secret under HS256).
    #[error("the signature does not match the key")]
    BadSignature,
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is later than now plus the leeway.
    #[error("the token is not yet valid (nbf is in the future)")]
    NotYetValid,
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

/// Verifies tokens: the configured `alg` pinned (HS256 with the secrets,
/// ES256 or EdDSA with public keys, never HS256 with a public key), no
/// `crit`; `exp` and `sub` required, `nbf` checked when present, `iat`
/// optional; `iss`/`aud` required and checked when configured; any
/// configured key (by `kid`).
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
    algorithm: SigningAlgorithm,
    keys: Vec<(Option<String>, DecodingKey)>,
    validation: Validation,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<_> = self.keys.iter().map(|(kid, _)| kid).collect();
        f.debug_struct("TokenVerifier")
            .field("algorithm", &self.algorithm)
            .field("keys", &kids)
            .field("validation", &self.validation)
            .finish()
    }
}

impl TokenVerifier {
    /// A verifier with the same settings the issuer signs with, accepting
    /// every configured key: the HS256 secrets, or the public keys the
    /// service publishes.
    pub fn new(config: &JwtConfig) -> Self {
        let keys = match &config.signing {
            Signing::Hmac(keys) => keys
                .iter()
                .map(|k| {
                    (
                        k.kid.clone(),
                        DecodingKey::from_secret(k.secret.expose().as_bytes()),
                    )
                })
                .collect(),
            Signing::Asymmetric(set) => set
                .public_keys()
                .map(|k| (Some(k.kid().to_owned()), k.decoding_key()))
                .collect(),
        };
        Self::with_keys(&config.rules(), keys)
    }

    /// A verifier of ES256 or EdDSA tokens with the public keys of a JWKS
    /// document (`rules.algorithm`'s keys only; see [`jwks::parse`]). HS256
    /// is refused: its secret is never in a JWKS, and a public key must
    /// never be taken for an HMAC secret.
    ///
    /// ```
    /// use realtime_token::token::{PrivateKey, SigningAlgorithm, TokenVerifier, VerifyRules};
    ///
    /// let rules = VerifyRules { algorithm: SigningAlgorithm::EdDSA, ..Default::default() };
    /// let jwks = r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1",
    ///     "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    /// assert!(TokenVerifier::from_jwks(&rules, jwks).is_ok());
    /// let hs256 = VerifyRules::default();
    /// assert!(TokenVerifier::from_jwks(&hs256, jwks).is_err());
    /// ```
    pub fn from_jwks(rules: &VerifyRules, jwks: &str) -> Result<Self, JwksError> {
        if !rules.algorithm.is_asymmetric() {
            return Err(JwksError(
                "a JWKS holds public keys, and HS256 tokens are never verified with a public key: \
                 set JWT_ALGORITHM to ES256 or EdDSA"
                    .into(),
            ));
        }
        let keys = jwks::parse(jwks, rules.algorithm)?
            .iter()
            .map(|k| (Some(k.kid().to_owned()), k.decoding_key()))
            .collect();
        Ok(Self::with_keys(rules, keys))
    }

    fn with_keys(rules: &VerifyRules, keys: Vec<(Option<String>, DecodingKey)>) -> Self {
        let mut validation = Validation::new(rules.algorithm.jwt());
        let mut required = vec!["exp", "sub"];
        validation.leeway = rules.leeway.as_secs();
        // Off by default in jsonwebtoken; jose and Node jsonwebtoken check it.
        validation.validate_nbf = true;
        match &rules.issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &rules.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                // Without this a token lacking `aud` would pass the check.
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        Self {
            algorithm: rules.algorithm,
            keys,
            validation,
        }
    }

    /// The one `alg` this verifier accepts.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// Checks `token` and returns its claims. A token with a `kid` is
    /// checked with that key only; one without, with each key in turn.
    pub fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let token = token.trim();
        let header = check_header(token, self.algorithm)?;
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
            // Decoded as a map so that time and issuer checks come before
            // the claims' types, and a wrong type names its claim.
            outcome = jsonwebtoken::decode::<Map<String, Value>>(token, key, &self.validation)
                .map_err(|e| map_error(e, token, self.algorithm));
            // Only a signature mismatch means another key might fit.
            if !matches!(outcome, Err(VerifyError::BadSignature)) {
                break;
            }
        }
        let claims = claims_from(outcome?.claims)?;
        if claims.sub.is_empty() {
            return Err(VerifyError::MissingClaim("sub".into()));
        }
        Ok(claims)
    }
}

/// The header rules jsonwebtoken does not apply itself: `alg` exactly
/// `expected` (it cannot even parse `none`), and no `crit` at all.
fn check_header(token: &str, expected: SigningAlgorithm) -> Result<Header, VerifyError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let fields = json_object(header).ok_or(VerifyError::Malformed)?;
    if fields.get("alg").and_then(Value::as_str) != Some(expected.as_str()) {
        return Err(VerifyError::WrongAlgorithm(expected));
    }
    // We implement no extension (b64 included), so any `crit` names one we
    // would otherwise ignore.
    if fields.contains_key("crit") {
        return Err(VerifyError::CriticalHeader);
    }
    jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)
}

/// A base64url part that is a JSON object.
fn json_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = b64::url_decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The typed claims of a verified payload: `iat` and `exp` must be
/// NumericDates (non-negative numbers; fractions are dropped).
fn claims_from(mut payload: Map<String, Value>) -> Result<Claims, VerifyError> {
    for name in ["iat", "exp"] {
        if let Some(value) = payload.get_mut(name) {
            let secs = numeric_date(value).ok_or_else(|| VerifyError::BadClaim(name.into()))?;
            *value = secs.into();
        }
    }
    serde_json::from_value(Value::Object(payload))
        .map_err(|_| VerifyError::BadClaim("payload".into()))
}

fn numeric_date(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    })
}

fn map_error(e: jsonwebtoken::errors::Error, token: &str, alg: SigningAlgorithm) -> VerifyError {
    match e.kind() {
        ErrorKind::InvalidSignature => VerifyError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm => VerifyError::WrongAlgorithm(alg),
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
        ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
        ErrorKind::InvalidAudience => VerifyError::WrongAudience,
        // jsonwebtoken also calls a claim of the wrong type missing. The
        // signature has been checked by now, so reading the payload is safe.
        ErrorKind::MissingRequiredClaim(c) if payload_has(token, c) => {
            VerifyError::BadClaim(c.clone())
        }
        ErrorKind::MissingRequiredClaim(c) => VerifyError::MissingClaim(c.clone()),
        ErrorKind::InvalidClaimFormat(c) => VerifyError::BadClaim(c.clone()),
        ErrorKind::Json(_) => VerifyError::BadClaim("payload".into()),
        _ => VerifyError::Malformed,
    }
}

/// True when the payload has `claim` with a non-null value.
fn payload_has(token: &str, claim: &str) -> bool {
    token
        .split('.')
        .nth(1)
        .and_then(json_object)
        .is_some_and(|payload| payload.get(claim).is_some_and(|v| !v.is_null()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HS: SigningAlgorithm = SigningAlgorithm::HS256;

    fn part(v: &Value) -> String {
        b64::url_encode(v.to_string())
    }

    fn with_header(header: Value) -> String {
        format!("{}.{}.c2ln", part(&header), part(&serde_json::json!({})))
    }

    #[test]
    fn header_rules() {
        use serde_json::json;
        for alg in [json!("none"), json!("NONE"), json!("hs256"), json!(1)] {
            assert_eq!(
                check_header(&with_header(json!({ "alg": alg })), HS).unwrap_err(),
                VerifyError::WrongAlgorithm(HS),
                "{alg}"
            );
        }
        assert_eq!(
            check_header(&with_header(json!({})), HS).unwrap_err(),
            VerifyError::WrongAlgorithm(HS)
        );
        assert_eq!(
            check_header(
                &with_header(json!({"alg": "HS256", "crit": ["b64"], "b64": false})),
                HS
            )
            .unwrap_err(),
            VerifyError::CriticalHeader
        );
        assert_eq!(
            check_header(&with_header(json!({"alg": "HS256", "kid": 7})), HS).unwrap_err(),
            VerifyError::Malformed
        );
        assert_eq!(check_header("a.b", HS).unwrap_err(), VerifyError::Malformed);
        assert_eq!(
            check_header("a.b.c.d", HS).unwrap_err(),
            VerifyError::Malformed
        );
        let ok = check_header(&with_header(json!({"alg": "HS256", "kid": "k1"})), HS).unwrap();
        assert_eq!(ok.kid.as_deref(), Some("k1"));
        // Pinned to the configured algorithm: no swap to HS256 or another
        // asymmetric one.
        let es = SigningAlgorithm::ES256;
        for alg in ["HS256", "EdDSA", "ES384", "es256"] {
            assert_eq!(
                check_header(&with_header(json!({ "alg": alg })), es).unwrap_err(),
                VerifyError::WrongAlgorithm(es),
                "{alg}"
            );
        }
        assert!(check_header(&with_header(json!({"alg": "ES256"})), es).is_ok());
    }

    #[test]
    fn numeric_dates() {
        use serde_json::json;
        assert_eq!(numeric_date(&json!(5)), Some(5));
        assert_eq!(numeric_date(&json!(5.9)), Some(5));
        for bad in [
            json!(-1),
            json!(-0.5),
            json!("5"),
            json!(null),
            json!(1e300),
        ] {
            assert_eq!(numeric_date(&bad), None, "{bad}");
        }
    }
}

//! [`TokenVerifier`]: the rules `realtime-token verify` and a Rust realtime
//! server apply to a token (docs/src/endpoint.md, "Verification rules").

use std::fmt;

use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde_json::{Map, Value};

use super::Claims;
use super::JwtConfig;

/// Why a token was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not three base64url parts of JSON.
    #[error("the token is malformed")]
    Malformed,
    /// The header's `alg` is not exactly `HS256` (e.g. `none`), or is absent.
    #[error("the token is not signed with HS256")]
    WrongAlgorithm,
    /// The header has `crit`: extensions this verifier does not implement
    /// must not be ignored (RFC 7515 §4.1.11).
    #[error(
        "the token's header has `crit` (critical extensions), which this verifier does not support"
    )]
    CriticalHeader,
    /// The signature does not match the secret.
    #[error("the signature does not match the secret")]
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

/// Verifies tokens: HS256 pinned, no `crit`; `exp` and `sub` required, `nbf`
/// checked when present, `iat` optional; `iss`/`aud` required and checked
/// when configured; any configured key (by `kid`).
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
        // Off by default in jsonwebtoken; jose and Node jsonwebtoken check it.
        validation.validate_nbf = true;
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

    /// Checks `token` and returns its claims. A token with a `kid` is
    /// checked with that key only; one without, with each key in turn.
    pub fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let token = token.trim();
        let header = check_header(token)?;
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
                .map_err(|e| map_error(e, token));
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
/// `HS256` (it cannot even parse `none`), and no `crit` at all.
fn check_header(token: &str) -> Result<Header, VerifyError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let fields = json_object(header).ok_or(VerifyError::Malformed)?;
    if fields.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(VerifyError::WrongAlgorithm);
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
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()?;
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

fn map_error(e: jsonwebtoken::errors::Error, token: &str) -> VerifyError {
    match e.kind() {
        ErrorKind::InvalidSignature => VerifyError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm => VerifyError::WrongAlgorithm,
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

    fn part(v: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn with_header(header: Value) -> String {
        format!("{}.{}.c2ln", part(&header), part(&serde_json::json!({})))
    }

    #[test]
    fn header_rules() {
        use serde_json::json;
        for alg in [json!("none"), json!("NONE"), json!("hs256"), json!(1)] {
            assert_eq!(
                check_header(&with_header(json!({ "alg": alg }))).unwrap_err(),
                VerifyError::WrongAlgorithm,
                "{alg}"
            );
        }
        assert_eq!(
            check_header(&with_header(json!({}))).unwrap_err(),
            VerifyError::WrongAlgorithm
        );
        assert_eq!(
            check_header(&with_header(
                json!({"alg": "HS256", "crit": ["b64"], "b64": false})
            ))
            .unwrap_err(),
            VerifyError::CriticalHeader
        );
        assert_eq!(
            check_header(&with_header(json!({"alg": "HS256", "kid": 7}))).unwrap_err(),
            VerifyError::Malformed
        );
        assert_eq!(check_header("a.b").unwrap_err(), VerifyError::Malformed);
        assert_eq!(check_header("a.b.c.d").unwrap_err(), VerifyError::Malformed);
        let ok = check_header(&with_header(json!({"alg": "HS256", "kid": "k1"}))).unwrap();
        assert_eq!(ok.kid.as_deref(), Some("k1"));
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

//! JWS verification for `jwt-cookie`, pure: the key ring (one HMAC secret,
//! or public keys from a PEM or a JWKS), the choice of key by `alg` and
//! `kid`, and the checks of one token (signature, `exp` / `nbf` with
//! [`LEEWAY_SECS`], `iss` / `aud` when configured), with `jsonwebtoken`.

use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde_json::Value;

use crate::session::SessionError;

/// Clock skew tolerated on `exp` and `nbf`, in seconds. Fixed: the
/// service's `JWT_LEEWAY` belongs to the tokens it issues and is not part
/// of the session settings.
pub const LEEWAY_SECS: u64 = 30;

/// One public verification key.
pub struct RingKey {
    kid: Option<String>,
    alg: Option<Algorithm>,
    // A PEM key has no `kid` of its own and takes a token naming any (Clerk
    // puts its instance id there); a JWKS key only its own.
    any_kid: bool,
    key: DecodingKey,
}

/// The keys a token may be verified with.
pub enum KeyRing {
    /// An HMAC secret (HS* only).
    Secret(DecodingKey),
    /// Public keys (never used with HS*), each with its `kid` and `alg`
    /// when the JWKS names them.
    Public(Vec<RingKey>),
}

impl KeyRing {
    /// One public key with no `kid` (a PEM), used for any fitting `alg`.
    pub fn public_key(key: DecodingKey) -> Self {
        Self::Public(vec![RingKey {
            kid: None,
            alg: None,
            any_kid: true,
            key,
        }])
    }

    /// The signing keys of a JWKS document. Keys this service cannot use
    /// (encryption keys, symmetric keys, unknown types) are skipped; a
    /// document with none left is refused.
    pub fn from_jwks(text: &str) -> Result<Self, &'static str> {
        let doc: Value = serde_json::from_str(text).map_err(|_| "the JWKS is not JSON")?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("the JWKS has no \"keys\" array")?;
        let ring: Vec<RingKey> = keys
            .iter()
            .filter_map(|k| {
                // An `alg` that is not a JWS algorithm (e.g. RSA-OAEP) marks
                // a key this service must not verify with.
                let alg = match k.get("alg") {
                    None => None,
                    Some(a) => Some(a.as_str()?.parse::<Algorithm>().ok()?),
                };
                let jwk = serde_json::from_value::<Jwk>(k.clone()).ok()?;
                Some((alg, jwk))
            })
            .filter(|(_, jwk)| signs(jwk))
            .filter_map(|(alg, jwk)| {
                let key = DecodingKey::from_jwk(&jwk).ok()?;
                (key.family() != AlgorithmFamily::Hmac).then_some(RingKey {
                    kid: jwk.common.key_id,
                    alg,
                    any_kid: false,
                    key,
                })
            })
            .collect();
        if ring.is_empty() {
            return Err("the JWKS has no usable public signing key");
        }
        Ok(Self::Public(ring))
    }

    /// The key for a token with `alg` and `kid`, or why there is none.
    fn choose(&self, alg: Algorithm, kid: Option<&str>) -> Result<&DecodingKey, Refusal> {
        let ring = match self {
            Self::Secret(key) if alg.family() == AlgorithmFamily::Hmac => return Ok(key),
            Self::Secret(_) => {
                return Err(Refusal::Invalid("the token's algorithm is not accepted"))
            }
            Self::Public(_) if alg.family() == AlgorithmFamily::Hmac => {
                return Err(Refusal::Invalid("the token's algorithm is not accepted"))
            }
            Self::Public(ring) => ring,
        };
        let fits = |k: &&RingKey| k.key.family() == alg.family() && k.alg.is_none_or(|a| a == alg);
        let found = match kid {
            Some(kid) => ring
                .iter()
                .filter(|k| k.any_kid || k.kid.as_deref() == Some(kid))
                .find(fits),
            // Without a `kid`, only a ring with one fitting key is unambiguous.
            None => match ring.iter().filter(fits).collect::<Vec<_>>().as_slice() {
                [one] => Some(*one),
                _ => None,
            },
        };
        found.map(|k| &k.key).ok_or(Refusal::UnknownKey)
    }
}

/// Refuses the header parameters whose meaning this service does not
/// implement: a `crit` list (RFC 7515 4.1.11: a JWS naming an extension the
/// recipient does not understand is invalid) and an unencoded payload
/// (`b64` other than `true`, RFC 7797), which jsonwebtoken would read as if
/// it were encoded. Read from the header's own JSON: jsonwebtoken's
/// `Header` takes `"crit": null` for no `crit` at all.
fn understood(token: &str) -> Result<(), Refusal> {
    let header = token.split('.').next().unwrap_or_default();
    let params = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|json| serde_json::from_slice::<serde_json::Map<String, Value>>(&json).ok())
        .ok_or(Refusal::Invalid(
            "the session token is malformed or unsigned",
        ))?;
    let b64 = params.get("b64");
    if params.contains_key("crit") || b64.is_some_and(|v| *v != Value::Bool(true)) {
        return Err(Refusal::Invalid("the session token needs a JWS extension"));
    }
    Ok(())
}

/// `use: sig` or no `use`, and `verify` among `key_ops` when listed.
fn signs(jwk: &Jwk) -> bool {
    let usable = !matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    );
    let ops = jwk
        .common
        .key_operations
        .as_ref()
        .is_none_or(|ops| ops.iter().any(|op| matches!(op, KeyOperations::Verify)));
    usable && ops
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No key in the ring fits the token's `kid` and `alg` (a fresher JWKS
    /// might have it).
    UnknownKey,
    /// Anything else: malformed, forged, expired, wrong issuer or audience.
    Invalid(&'static str),
}

impl From<Refusal> for SessionError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::UnknownKey => SessionError::Unauthenticated("no key fits the session token"),
            Refusal::Invalid(why) => SessionError::Unauthenticated(why),
        }
    }
}

/// Verifies one token against a [`KeyRing`].
pub struct Verifier {
    // One validation per accepted algorithm: jsonwebtoken refuses a token
    // when any listed algorithm is of another family than the key, so each
    // decode lists only the token's own (already allowed) algorithm.
    validations: Vec<Validation>,
}

impl Verifier {
    /// Accepting `algorithms`, requiring `exp` (and `iss` / `aud` when given).
    pub fn new(algorithms: Vec<Algorithm>, issuer: Option<&str>, audience: Option<&str>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        if let Some(iss) = issuer {
            validation.set_issuer(&[iss]);
            validation.required_spec_claims.insert("iss".into());
        }
        // jsonwebtoken refuses any token with an `aud` when no audience is
        // set; without SESSION_JWT_AUDIENCE the claim is not checked.
        validation.validate_aud = audience.is_some();
        if let Some(aud) = audience {
            validation.set_audience(&[aud]);
            validation.required_spec_claims.insert("aud".into());
        }
        let validations = algorithms
            .into_iter()
            .map(|alg| Validation {
                algorithms: vec![alg],
                ..validation.clone()
            })
            .collect();
        Self { validations }
    }

    /// The validation for `alg`, if it is accepted.
    fn validation(&self, alg: Algorithm) -> Result<&Validation, Refusal> {
        self.validations
            .iter()
            .find(|v| v.algorithms[0] == alg)
            .ok_or(Refusal::Invalid("the token's algorithm is not accepted"))
    }

    /// The verified claims of `token`.
    pub fn verify(&self, token: &str, ring: &KeyRing) -> Result<Value, Refusal> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| Refusal::Invalid("the session token is malformed or unsigned"))?;
        understood(token)?;
        let validation = self.validation(header.alg)?;
        let key = ring.choose(header.alg, header.kid.as_deref())?;
        jsonwebtoken::decode::<Value>(token, key, validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                Refusal::Invalid(match e.kind() {
                    K::ExpiredSignature => "the session token has expired",
                    K::ImmatureSignature => "the session token is not valid yet",
                    K::InvalidIssuer => "the session token's issuer is not accepted",
                    K::InvalidAudience => "the session token's audience is not accepted",
                    K::MissingRequiredClaim(_) => "the session token lacks exp, iss or aud",
                    K::InvalidSignature => "the session token's signature does not match",
                    _ => "the session token is invalid",
                })
            })
    }

    /// Whether `token`'s header parses and names an accepted algorithm,
    /// checked before any JWKS fetch it could cause.
    pub fn header_ok(&self, token: &str) -> Result<(), Refusal> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| Refusal::Invalid("the session token is malformed or unsigned"))?;
        understood(token)?;
        self.validation(header.alg).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A JWKS and token written by jose 6.2.18 (tests/formats/jwt-cookie);
    // the token's `exp` has passed since, so that check is off here.
    #[test]
    fn verifies_a_jose_es256_token_by_kid() {
        let ring = KeyRing::from_jwks(JWKS).unwrap();
        let mut v = Verifier::new(vec![Algorithm::ES256, Algorithm::RS256], None, None);
        v.validations[0].validate_exp = false;
        let claims = v.verify(TOKEN, &ring).unwrap();
        assert_eq!(claims["sub"], "alice");
        // The same token against an HMAC secret, or with ES256 not allowed.
        let secret = KeyRing::Secret(DecodingKey::from_secret(
            b"0123456789abcdef0123456789abcdef",
        ));
        assert!(v.verify(TOKEN, &secret).is_err());
        let rs_only = Verifier::new(vec![Algorithm::RS256], None, None);
        assert!(rs_only.verify(TOKEN, &ring).is_err());
        // A JWKS with only an encryption key or an HMAC key is refused.
        assert!(KeyRing::from_jwks(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).is_err());
        assert!(KeyRing::from_jwks("[]").is_err());
    }

    const JWKS: &str = r#"{"keys": [{"kty": "EC", "x": "3bhQGLXbszWTrbglnrtgXnrE4eL1UrG4OcjGID5U4D4", "y": "virHmyQBGC86FZGj1oNr2JT4OxNnb7IGQDLQzbhWycQ", "crv": "P-256", "alg": "ES256", "kid": "key-a"}]}"#;
    const TOKEN: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImtleS1hIn0.eyJpYXQiOjE3OTU5MTY1MzksInN1YiI6ImFsaWNlIiwiZXhwIjoxNzk1OTIwMTM5fQ.lRgZPaR3mrfx5CC_rYTU8bTcWlZYiaiov29LZYGhWQPQf1pVOA1EqffTgrOOleXsyHaivQ-83F0XaubPVr0PNQ";
}

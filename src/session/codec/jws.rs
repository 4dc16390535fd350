//! JWS verification for `jwt-cookie`, pure: the key ring (one HMAC secret,
//! or public keys from a PEM or a JWKS), the choice of key by `alg` and
//! `kid`, and the checks of one token: the signature with `ring`
//! (`jws_crypto.rs`), then `exp` / `nbf` with [`LEEWAY_SECS`] and `iss` /
//! `aud` when configured (`jws_claims.rs`). `jsonwebtoken` parses the
//! header, PEM keys and JWKs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde_json::Value;

pub use super::jws_claims::{ClaimRules, Lifetime, LEEWAY_SECS};
pub use super::jws_crypto::{PublicKey, Secret};

use crate::session::SessionError;
use crate::token::unix_now;

/// One public verification key.
#[derive(Clone)]
pub struct RingKey {
    kid: Option<String>,
    alg: Option<Algorithm>,
    key: PublicKey,
}

/// The keys a token may be verified with.
#[derive(Clone)]
pub enum KeyRing {
    /// An HMAC secret (HS* only).
    Secret(Secret),
    /// The one public key of a PEM: used for any `alg` of its family,
    /// whatever `kid` the token names (Clerk's tokens name one).
    Pem(PublicKey),
    /// Public keys (never used with HS*), each with its `kid` and `alg`
    /// when the JWKS names them.
    Public(Vec<RingKey>),
}

impl KeyRing {
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
                // Symmetric keys and keys `ring` cannot use are skipped.
                let key = PublicKey::from_decoding_key(&DecodingKey::from_jwk(&jwk).ok()?).ok()?;
                Some(RingKey {
                    kid: jwk.common.key_id,
                    alg,
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
    fn choose(&self, alg: Algorithm, kid: Option<&str>) -> Result<Key<'_>, Refusal> {
        let ring = match self {
            Self::Secret(key) if alg.family() == AlgorithmFamily::Hmac => {
                return Ok(Key::Secret(key))
            }
            Self::Secret(_) => {
                return Err(Refusal::Invalid("the token's algorithm is not accepted"))
            }
            _ if alg.family() == AlgorithmFamily::Hmac => {
                return Err(Refusal::Invalid("the token's algorithm is not accepted"))
            }
            Self::Pem(key) if key.family() == alg.family() => return Ok(Key::Public(key)),
            Self::Pem(_) => return Err(Refusal::UnknownKey),
            Self::Public(ring) => ring,
        };
        let fits = |k: &&RingKey| k.key.family() == alg.family() && k.alg.is_none_or(|a| a == alg);
        let found = match kid {
            Some(kid) => ring
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .find(fits),
            // Without a `kid`, only a ring with one fitting key is unambiguous.
            None => match ring.iter().filter(fits).collect::<Vec<_>>().as_slice() {
                [one] => Some(*one),
                _ => None,
            },
        };
        found
            .map(|k| Key::Public(&k.key))
            .ok_or(Refusal::UnknownKey)
    }
}

/// The key [`KeyRing::choose`] picked.
enum Key<'a> {
    Secret(&'a Secret),
    Public(&'a PublicKey),
}

impl Key<'_> {
    fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Secret(key) => key.verify(alg, message, signature),
            Self::Public(key) => key.verify(alg, message, signature),
        }
    }
}

/// Refuses the header parameters whose meaning this service does not
/// implement: a `crit` list (RFC 7515 4.1.11: a JWS naming an extension the
/// recipient does not understand is invalid) and an unencoded payload
/// (`b64` other than `true`, RFC 7797), which jsonwebtoken would read as if
/// it were encoded. Read from the header's own JSON: jsonwebtoken's
/// `Header` takes `"crit": null` for no `crit` at all. Also refuses an
/// OAuth access token (`typ` `at+jwt`, RFC 9068): one an identity provider
/// gave a third-party client, which may be signed by the same keys and name
/// the same user (Clerk's are), but is no session.
fn understood(token: &str) -> Result<(), Refusal> {
    let header = token.split('.').next().unwrap_or_default();
    let params = URL_SAFE_NO_PAD
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
    let typ = params
        .get("typ")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if matches!(
        typ.to_ascii_lowercase().as_str(),
        "at+jwt" | "application/at+jwt"
    ) {
        return Err(Refusal::Invalid(
            "an OAuth access token is not a session token",
        ));
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

/// A token that passed every check.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Its claims.
    pub claims: Value,
    /// Its `exp` and `nbf`, for checking it again later.
    pub lifetime: Lifetime,
}

/// Verifies one token against a [`KeyRing`].
#[derive(Clone)]
pub struct Verifier {
    algorithms: Vec<Algorithm>,
    rules: ClaimRules,
}

const MALFORMED: Refusal = Refusal::Invalid("the session token is malformed or unsigned");

impl Verifier {
    /// Accepting `algorithms`, requiring `exp` (and `iss` / `aud` when given).
    pub fn new(algorithms: Vec<Algorithm>, issuer: Option<&str>, audience: Option<&str>) -> Self {
        let rules = ClaimRules {
            issuer: issuer.map(str::to_owned),
            audience: audience.map(str::to_owned),
        };
        Self { algorithms, rules }
    }

    /// The token's `alg`, parsed from its header, if it is accepted.
    fn algorithm(&self, token: &str) -> Result<(Algorithm, Option<String>), Refusal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| MALFORMED)?;
        understood(token)?;
        if !self.algorithms.contains(&header.alg) {
            return Err(Refusal::Invalid("the token's algorithm is not accepted"));
        }
        Ok((header.alg, header.kid))
    }

    /// The verified claims of `token`, now.
    pub fn verify(&self, token: &str, ring: &KeyRing) -> Result<Verified, Refusal> {
        self.verify_at(token, ring, unix_now())
    }

    /// The verified claims of `token` at `now` (seconds since the epoch).
    pub fn verify_at(&self, token: &str, ring: &KeyRing, now: u64) -> Result<Verified, Refusal> {
        let (alg, kid) = self.algorithm(token)?;
        let key = ring.choose(alg, kid.as_deref())?;
        // `decode_header` has seen exactly three parts.
        let (message, signature) = token.rsplit_once('.').ok_or(MALFORMED)?;
        let (_, payload) = message.split_once('.').ok_or(MALFORMED)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| MALFORMED)?;
        if !key.verify(alg, message.as_bytes(), &signature) {
            return Err(Refusal::Invalid(
                "the session token's signature does not match",
            ));
        }
        let claims: Value = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(Refusal::Invalid("the session token is invalid"))?;
        let lifetime = self.rules.check(&claims, now)?;
        Ok(Verified { claims, lifetime })
    }

    /// Whether `token`'s header parses and names an accepted algorithm,
    /// checked before any JWKS fetch it could cause.
    pub fn header_ok(&self, token: &str) -> Result<(), Refusal> {
        self.algorithm(token).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A JWKS and token written by jose 6.2.18 (tests/formats/jwt-cookie);
    // the token's `exp` has passed since, so it is checked at its `iat`.
    const IAT: u64 = 1_795_916_539;

    #[test]
    fn verifies_a_jose_es256_token_by_kid() {
        let ring = KeyRing::from_jwks(JWKS).unwrap();
        let v = Verifier::new(vec![Algorithm::ES256, Algorithm::RS256], None, None);
        let verified = v.verify_at(TOKEN, &ring, IAT).unwrap();
        assert_eq!(verified.claims["sub"], "alice");
        assert_eq!(verified.lifetime.exp, IAT + 3600);
        assert_eq!(
            v.verify(TOKEN, &ring).unwrap_err(),
            Refusal::Invalid("the session token has expired")
        );
        // One changed character inside the signature.
        let mut forged = TOKEN.to_owned();
        let at = forged.len() - 10;
        let other = if &forged[at..=at] == "A" { "B" } else { "A" };
        forged.replace_range(at..=at, other);
        assert_eq!(
            v.verify_at(&forged, &ring, IAT).unwrap_err(),
            Refusal::Invalid("the session token's signature does not match")
        );
        // The same token against an HMAC secret, or with ES256 not allowed.
        let secret = KeyRing::Secret(Secret::new(b"0123456789abcdef0123456789abcdef"));
        assert!(v.verify_at(TOKEN, &secret, IAT).is_err());
        let rs_only = Verifier::new(vec![Algorithm::RS256], None, None);
        assert!(rs_only.verify_at(TOKEN, &ring, IAT).is_err());
        // A JWKS with only an encryption key or an HMAC key is refused.
        assert!(KeyRing::from_jwks(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).is_err());
        assert!(KeyRing::from_jwks("[]").is_err());
    }

    const JWKS: &str = r#"{"keys": [{"kty": "EC", "x": "3bhQGLXbszWTrbglnrtgXnrE4eL1UrG4OcjGID5U4D4", "y": "virHmyQBGC86FZGj1oNr2JT4OxNnb7IGQDLQzbhWycQ", "crv": "P-256", "alg": "ES256", "kid": "key-a"}]}"#;
    const TOKEN: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImtleS1hIn0.eyJpYXQiOjE3OTU5MTY1MzksInN1YiI6ImFsaWNlIiwiZXhwIjoxNzk1OTIwMTM5fQ.lRgZPaR3mrfx5CC_rYTU8bTcWlZYiaiov29LZYGhWQPQf1pVOA1EqffTgrOOleXsyHaivQ-83F0XaubPVr0PNQ";
}

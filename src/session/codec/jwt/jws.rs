//! JWS verification for `jwt-cookie`, pure: the key ring (one HMAC secret,
//! or public keys from a PEM or a JWKS, each checked by `jwk.rs` and
//! `jws_crypto.rs`), the choice of key by `alg` and `kid`, and the checks
//! of one token: its header read once ([`Verifier::parse`]), then the
//! signature with `ring` (`jws_crypto.rs`), then `exp` / `nbf` with
//! [`LEEWAY_SECS`] and `iss` / `aud` when configured (`jws_claims.rs`).
//! `jsonwebtoken` parses PEM keys and names the algorithms.

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

pub use super::jws_claims::{ClaimRules, Lifetime, Refusal, LEEWAY_SECS};
pub use super::jws_crypto::{PublicKey, Secret};

use super::jwk::{self, RingKey};
use crate::b64;
use crate::token::unix_now;

/// The keys a token may be verified with.
#[derive(Clone)]
pub enum KeyRing {
    /// An HMAC secret (HS* only).
    Secret(Secret),
    /// The one public key of a PEM: used for any `alg` that fits it,
    /// whatever `kid` the token names (Clerk's tokens name one).
    Pem(PublicKey),
    /// Public keys (never used with HS*), each with its `kid` and `alg`
    /// when the JWKS names them.
    Public(Vec<RingKey>),
}

impl KeyRing {
    /// The signing keys of a JWKS document ([`jwk::read_set`]: keys whose
    /// parameters contradict their material are refused and logged); a
    /// document with none left is refused.
    pub fn from_jwks(text: &str) -> Result<Self, String> {
        jwk::read_set(text).map(Self::Public)
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
            Self::Pem(key) if key.fits(alg) => return Ok(Key::Public(key)),
            Self::Pem(_) => return Err(Refusal::UnknownKey),
            Self::Public(ring) => ring,
        };
        // The key's material (type, curve) and its own `alg`, if it names
        // one, must both fit the token's.
        let fits = |k: &&RingKey| k.key.fits(alg) && k.alg.is_none_or(|a| a == alg);
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

/// The header parameters read, from the one parse of the header's JSON
/// (as jsonwebtoken's `Header` reads `alg`, `kid` and `typ`). A repeated
/// parameter among these makes the header malformed
/// (`{"alg":"none","alg":"HS256"}`).
#[derive(Deserialize)]
struct Header {
    alg: Algorithm,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    /// Whether `crit` is there, whatever its value (`null` too: unlike
    /// jsonwebtoken's `Header`, which takes `"crit": null` for none).
    #[serde(default, deserialize_with = "present")]
    crit: bool,
    /// `b64`'s value when it is there, `null` included.
    #[serde(default, deserialize_with = "any_value")]
    b64: Option<Value>,
}

/// Whether `json` is an object, not an array: serde reads a struct from
/// either (`["HS256"]` would be a header naming HS256).
fn is_object(json: &[u8]) -> bool {
    json.iter().find(|b| !b" \t\n\r".contains(b)) == Some(&b'{')
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

fn any_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl Header {
    /// Refuses the parameters whose meaning this service does not
    /// implement: a `crit` list (RFC 7515 4.1.11: a JWS naming an extension
    /// the recipient does not understand is invalid) and an unencoded
    /// payload (`b64` other than `true`, RFC 7797), which would otherwise
    /// be read as if it were encoded. Also refuses an OAuth access token
    /// (`typ` `at+jwt`, RFC 9068): one an identity provider gave a
    /// third-party client, which may be signed by the same keys and name
    /// the same user (Clerk's are), but is no session.
    fn understood(&self) -> Result<(), Refusal> {
        let b64 = self.b64.as_ref();
        if self.crit || b64.is_some_and(|v| *v != Value::Bool(true)) {
            return Err(Refusal::Invalid("the session token needs a JWS extension"));
        }
        let typ = self.typ.as_deref().unwrap_or_default();
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
}

/// A compact JWS whose header was read once and passed the header checks
/// ([`Verifier::parse`]); its signature and claims are not checked yet.
pub struct Token<'a> {
    alg: Algorithm,
    kid: Option<String>,
    /// `<header>.<payload>`: what the signature covers.
    message: &'a str,
    payload: &'a str,
    signature: Vec<u8>,
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

    /// `token` split into its three parts and its header read, once:
    /// refused when malformed, when its `alg` is not accepted, or when its
    /// header asks for what is not implemented. Done before any JWKS fetch
    /// the token could cause.
    pub fn parse<'a>(&self, token: &'a str) -> Result<Token<'a>, Refusal> {
        let mut parts = token.split('.');
        let (Some(head), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(MALFORMED);
        };
        let header: Header = b64::url_decode(head)
            .ok()
            .filter(|json| is_object(json))
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(MALFORMED)?;
        header.understood()?;
        if !self.algorithms.contains(&header.alg) {
            return Err(Refusal::Invalid("the token's algorithm is not accepted"));
        }
        let signature = b64::url_decode(signature).map_err(|_| MALFORMED)?;
        Ok(Token {
            alg: header.alg,
            kid: header.kid,
            message: &token[..head.len() + 1 + payload.len()],
            payload,
            signature,
        })
    }

    /// The verified claims of `token`, now.
    pub fn verify(&self, token: &str, ring: &KeyRing) -> Result<Verified, Refusal> {
        self.check(&self.parse(token)?, ring, unix_now())
    }

    /// The verified claims of `token` at `now` (seconds since the epoch).
    pub fn verify_at(&self, token: &str, ring: &KeyRing, now: u64) -> Result<Verified, Refusal> {
        self.check(&self.parse(token)?, ring, now)
    }

    /// The verified claims of a parsed token at `now` (seconds since the
    /// epoch): its key chosen from `ring`, its signature, then its claims.
    pub fn check(&self, token: &Token<'_>, ring: &KeyRing, now: u64) -> Result<Verified, Refusal> {
        let key = ring.choose(token.alg, token.kid.as_deref())?;
        if !key.verify(token.alg, token.message.as_bytes(), &token.signature) {
            return Err(Refusal::Invalid(
                "the session token's signature does not match",
            ));
        }
        let claims: Value = b64::url_decode(token.payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(Refusal::Invalid("the session token is invalid"))?;
        let lifetime = self.rules.check(&claims, now)?;
        Ok(Verified { claims, lifetime })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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

    /// Project Wycheproof's `json_web_key_test.json`, the vectors with a
    /// public keyset (source and commit in the file): what each does here.
    #[test]
    fn wycheproof_json_web_key_vectors() {
        let file: Value =
            serde_json::from_str(include_str!("testdata/wycheproof_jwk.json")).unwrap();
        let all = vec![Algorithm::RS256, Algorithm::ES256, Algorithm::ES384];
        let verifier = Verifier::new(all, None, None);
        // Each payload is "foo", no JWT claims: a good signature shows as
        // the claims' refusal, which comes after it.
        let signature_good = Err(Refusal::Invalid("the session token is invalid"));
        let expected = [
            ("5", "valid"),
            ("6", "an encryption key"),
            ("7", "ROCA"),
            ("8", "at least 2048 bits"),
            ("9", "exponent must be odd, at least 3"),
            ("19", "not a signature algorithm"),
            ("20", "not a signature algorithm"),
            ("21", "an encryption key"),
            ("22", "not on its curve"),
            ("23", "not the length its crv requires"),
            ("24", "a member its kty requires is missing"),
        ];
        let vectors = file["vectors"].as_object().unwrap();
        assert_eq!(vectors.len(), expected.len());
        for (tc, outcome) in expected {
            let vector = &vectors[tc];
            let jws = vector["jws"].as_str().unwrap();
            match KeyRing::from_jwks(&vector["jwks"].to_string()) {
                Ok(ring) => {
                    assert_eq!(outcome, "valid", "tcId {tc}: the key was used");
                    assert_eq!(vector["result"], "valid");
                    assert_eq!(
                        verifier.verify_at(jws, &ring, IAT).map(|_| ()),
                        signature_good
                    );
                }
                Err(why) => {
                    assert_eq!(vector["result"], "invalid", "tcId {tc}: {why}");
                    assert!(why.contains("kid-") || why.contains("RS256_"), "{why}");
                    assert!(why.contains(outcome), "tcId {tc}: {why}");
                }
            }
        }
    }

    #[test]
    fn a_jwk_is_used_only_for_the_algorithm_its_curve_and_alg_name() {
        let file: Value =
            serde_json::from_str(include_str!("testdata/wycheproof_jwk.json")).unwrap();
        // tcId 23's point, labelled P-256 as it is: usable for ES256 only.
        let mut key = file["vectors"]["23"]["jwks"]["keys"][0].clone();
        key["crv"] = "P-256".into();
        let ring = KeyRing::from_jwks(&json!({"keys": [key.clone()]}).to_string()).unwrap();
        assert!(ring.choose(Algorithm::ES256, Some("kid-ec-sign")).is_ok());
        assert_eq!(
            ring.choose(Algorithm::ES384, Some("kid-ec-sign")).err(),
            Some(Refusal::UnknownKey)
        );
        // With a P-384 `alg`, refused at load.
        key["alg"] = "ES384".into();
        let set = json!({"keys": [key]}).to_string();
        let why = KeyRing::from_jwks(&set).err().unwrap();
        assert!(
            why.contains("its alg does not fit its kty and crv"),
            "{why}"
        );
    }

    const JWKS: &str = r#"{"keys": [{"kty": "EC", "x": "3bhQGLXbszWTrbglnrtgXnrE4eL1UrG4OcjGID5U4D4", "y": "virHmyQBGC86FZGj1oNr2JT4OxNnb7IGQDLQzbhWycQ", "crv": "P-256", "alg": "ES256", "kid": "key-a"}]}"#;
    const TOKEN: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImtleS1hIn0.eyJpYXQiOjE3OTU5MTY1MzksInN1YiI6ImFsaWNlIiwiZXhwIjoxNzk1OTIwMTM5fQ.lRgZPaR3mrfx5CC_rYTU8bTcWlZYiaiov29LZYGhWQPQf1pVOA1EqffTgrOOleXsyHaivQ-83F0XaubPVr0PNQ";
}

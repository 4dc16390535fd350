//! One JWK of a JWKS turned into a verification key, or why not. Each
//! parameter must agree with the key material (RFC 7517 §4, RFC 7518 §6,
//! RFC 8037): `kty` with the members present, `crv` with the length of the
//! coordinates and the point with the curve, `alg` with the key, `use` and
//! `key_ops` with signing and with each other. A key that contradicts
//! itself is [`Unused::Refused`] (logged by the caller), never repaired:
//! e.g. a `"crv": "P-384"` key with P-256 coordinates is not read as P-256
//! (Wycheproof `json_web_key_test.json` tcId 23). RSA keys get the checks
//! of [`PublicKey::rsa`], the ROCA fingerprint among them (tcId 7).

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::jws_crypto::{Curve, PublicKey};

use crate::b64;

/// One verification key of a JWKS.
#[derive(Clone)]
pub struct RingKey {
    /// Its `kid`, when it has one.
    pub kid: Option<String>,
    /// Its `alg`, when it names one: then only tokens of that `alg`.
    pub alg: Option<Algorithm>,
    /// The key.
    pub key: PublicKey,
}

/// Why a JWK is not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unused {
    /// Not a key this service verifies signatures with (an encryption or
    /// symmetric key, a key type or curve not implemented): skipped.
    Skipped(&'static str),
    /// Its parameters contradict each other or its material, or the key is
    /// weak: refused, and worth a warning.
    Refused(&'static str),
}

/// Most reasons quoted in the error of a JWKS with no usable key.
const REASONS_QUOTED: usize = 3;

/// The verification keys of a JWKS document. Keys this service does not
/// verify with are skipped (logged at debug); keys whose parameters
/// contradict their material, or weak ones, are refused with a warning
/// naming their `kid`. `Err` when no key is left, with the first reasons.
pub fn read_set(text: &str) -> Result<Vec<RingKey>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|_| "the JWKS is not JSON")?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the JWKS has no \"keys\" array")?;
    let mut ring = Vec::new();
    let mut reasons = Vec::new();
    for key in keys {
        let why = match read(key) {
            Ok(key) => {
                ring.push(key);
                continue;
            }
            Err(why) => why,
        };
        // The kid comes from the network: quoted (escaped) and bounded.
        let kid = key.get("kid").and_then(Value::as_str).unwrap_or("");
        let kid: String = kid.chars().take(64).collect();
        let why = match why {
            Unused::Refused(why) => {
                log::warn!("JWKS: key {kid:?} refused: {why}");
                why
            }
            Unused::Skipped(why) => {
                log::debug!("JWKS: key {kid:?} skipped: {why}");
                why
            }
        };
        reasons.push(format!("key {kid:?}: {why}"));
    }
    if ring.is_empty() {
        reasons.truncate(REASONS_QUOTED);
        let reasons = match reasons.as_slice() {
            [] => String::new(),
            some => format!(" ({})", some.join("; ")),
        };
        return Err(format!(
            "the JWKS has no usable public signing key{reasons}"
        ));
    }
    Ok(ring)
}

/// Members that only a private key has.
const PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth"];

/// The verification key `jwk` describes.
pub fn read(jwk: &Value) -> Result<RingKey, Unused> {
    let jwk = jwk
        .as_object()
        .ok_or(Unused::Refused("it is not a JSON object"))?;
    let kid = match jwk.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(Unused::Refused("its kid is not a string")),
    };
    let kty = text(jwk, "kty")?.ok_or(Unused::Refused("it has no kty"))?;
    purpose(jwk)?;
    let alg = algorithm(jwk)?;
    if kty == "oct" {
        return Err(Unused::Skipped(
            "a symmetric key: HMAC secrets are set in SESSION_JWT_KEY, never read from a JWKS",
        ));
    }
    if PRIVATE.iter().any(|m| jwk.contains_key(*m)) {
        return Err(Unused::Refused(
            "it holds private key material: a JWKS publishes public keys only",
        ));
    }
    let key = match kty {
        "RSA" => PublicKey::rsa(bytes(jwk, "n")?, bytes(jwk, "e")?).map_err(Unused::Refused)?,
        "EC" => ec(jwk)?,
        "OKP" => okp(jwk)?,
        _ => return Err(Unused::Skipped("its kty is not RSA, EC or OKP")),
    };
    if alg.is_some_and(|alg| !key.fits(alg)) {
        return Err(Unused::Refused("its alg does not fit its kty and crv"));
    }
    Ok(RingKey { kid, alg, key })
}

/// `use` and `key_ops`: for verifying signatures, and consistent.
fn purpose(jwk: &Map<String, Value>) -> Result<(), Unused> {
    let usage = text(jwk, "use")?;
    match usage {
        None | Some("sig") => {}
        Some("enc") => return Err(Unused::Skipped("an encryption key (use: enc)")),
        Some(_) => return Err(Unused::Refused("its use is neither sig nor enc")),
    }
    let Some(ops) = jwk.get("key_ops") else {
        return Ok(());
    };
    let ops = ops
        .as_array()
        .and_then(|ops| ops.iter().map(Value::as_str).collect::<Option<Vec<_>>>())
        .ok_or(Unused::Refused("its key_ops is not a list of strings"))?;
    let signing = |op: &&str| matches!(*op, "sign" | "verify");
    if usage == Some("sig") && !ops.iter().all(signing) {
        return Err(Unused::Refused("its use (sig) and key_ops disagree"));
    }
    if !ops.contains(&"verify") {
        return Err(Unused::Skipped("its key_ops does not list verify"));
    }
    Ok(())
}

/// JWS algorithms registered with IANA but not verified here: a key for
/// one of them is skipped, not refused.
const NOT_IMPLEMENTED: &[&str] = &[
    "ES512",
    "ES256K",
    "Ed25519",
    "Ed448",
    "ML-DSA-44",
    "ML-DSA-65",
    "ML-DSA-87",
];

/// `alg`, when present: a JWS algorithm verified here. Another name marks a
/// key for something else (an encryption algorithm, one not implemented),
/// unless `use` says it signs and the name is no signature algorithm at
/// all (Wycheproof's `ES521`, `ES224`).
fn algorithm(jwk: &Map<String, Value>) -> Result<Option<Algorithm>, Unused> {
    let Some(name) = text(jwk, "alg")? else {
        return Ok(None);
    };
    match name.parse::<Algorithm>() {
        Ok(alg) => Ok(Some(alg)),
        Err(_) if NOT_IMPLEMENTED.contains(&name) => Err(Unused::Skipped(
            "its alg is a signature algorithm not implemented here",
        )),
        Err(_) if text(jwk, "use")? == Some("sig") => Err(Unused::Refused(
            "its alg is not a signature algorithm verified here",
        )),
        Err(_) => Err(Unused::Skipped(
            "its alg is not a JWS algorithm verified here",
        )),
    }
}

/// `kty: EC`: a P-256 or P-384 point, each coordinate its curve's length.
fn ec(jwk: &Map<String, Value>) -> Result<PublicKey, Unused> {
    let crv = text(jwk, "crv")?.ok_or(Unused::Refused("an EC key without crv"))?;
    let curve = Curve::from_name(crv).ok_or(Unused::Skipped("its crv is not P-256 or P-384"))?;
    let (x, y) = (bytes(jwk, "x")?, bytes(jwk, "y")?);
    let len = curve.coordinate_len();
    if x.len() != len || y.len() != len {
        return Err(Unused::Refused(
            "its x and y are not the length its crv requires",
        ));
    }
    let point = [&[4][..], &x, &y].concat();
    PublicKey::ec(curve, point).map_err(Unused::Refused)
}

/// `kty: OKP`: an Ed25519 key (X25519 and X448 keys agree on keys, they
/// do not sign).
fn okp(jwk: &Map<String, Value>) -> Result<PublicKey, Unused> {
    match text(jwk, "crv")? {
        Some("Ed25519") => {}
        Some("X25519" | "X448") => return Err(Unused::Skipped("a key-agreement key")),
        Some(_) => return Err(Unused::Skipped("its crv is not Ed25519")),
        None => return Err(Unused::Refused("an OKP key without crv")),
    }
    let x = bytes(jwk, "x")?;
    if x.len() != 32 {
        return Err(Unused::Refused(
            "its x is not the 32 bytes of an Ed25519 key",
        ));
    }
    if jwk.contains_key("y") {
        return Err(Unused::Refused("an OKP key has no y"));
    }
    Ok(PublicKey::Ed(x))
}

/// A string member, if present.
fn text<'a>(jwk: &'a Map<String, Value>, name: &'static str) -> Result<Option<&'a str>, Unused> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Unused::Refused("a member that must be a string is not")),
    }
}

/// A required base64url member, decoded.
fn bytes(jwk: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, Unused> {
    let value = text(jwk, name)?.ok_or(Unused::Refused("a member its kty requires is missing"))?;
    b64::url_decode(value).map_err(|_| Unused::Refused("a member is not base64url"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Wycheproof's (tcId 5) RSA and (tcId 21) P-256 public keys, made usable.
    fn keys() -> (Value, Value) {
        let file: Value =
            serde_json::from_str(include_str!("testdata/wycheproof_jwk.json")).unwrap();
        let rsa = file["vectors"]["5"]["jwks"]["keys"][0].clone();
        let mut ec = file["vectors"]["21"]["jwks"]["keys"][0].clone();
        ec["use"] = "sig".into();
        (rsa, ec)
    }

    fn with(key: &Value, changes: Value) -> Value {
        let mut key = key.clone();
        for (name, value) in changes.as_object().unwrap() {
            match value {
                Value::Null => key.as_object_mut().unwrap().remove(name),
                v => key.as_object_mut().unwrap().insert(name.clone(), v.clone()),
            };
        }
        key
    }

    #[test]
    fn parameters_that_contradict_the_material_or_each_other_are_refused() {
        let (rsa, ec) = keys();
        assert!(read(&rsa).is_ok() && read(&ec).is_ok());
        let refused = [
            (
                with(&rsa, json!({"alg": "ES256"})),
                "its alg does not fit its kty and crv",
            ),
            (
                with(&rsa, json!({"alg": "HS256"})),
                "its alg does not fit its kty and crv",
            ),
            (
                with(&ec, json!({"alg": "EdDSA"})),
                "its alg does not fit its kty and crv",
            ),
            (
                with(&ec, json!({"kty": "OKP", "crv": "Ed25519"})),
                "an OKP key has no y",
            ),
            (with(&ec, json!({"crv": null})), "an EC key without crv"),
            (
                with(&rsa, json!({"d": "AQAB"})),
                "it holds private key material",
            ),
            (
                with(&ec, json!({"key_ops": ["verify", "encrypt"]})),
                "its use (sig) and key_ops disagree",
            ),
            (
                with(&ec, json!({"key_ops": "verify"})),
                "its key_ops is not a list of strings",
            ),
            (
                with(&ec, json!({"use": "auth"})),
                "its use is neither sig nor enc",
            ),
            (with(&ec, json!({"kid": 7})), "its kid is not a string"),
            (with(&ec, json!({"kty": null})), "it has no kty"),
            (
                with(&ec, json!({"x": "not base64!"})),
                "a member is not base64url",
            ),
            (json!("RSA"), "it is not a JSON object"),
        ];
        for (key, why) in refused {
            match read(&key) {
                Err(Unused::Refused(found)) => assert!(found.starts_with(why), "{key}: {found}"),
                other => panic!("{key}: {:?}", other.map(|_| ())),
            }
        }
        let skipped = [
            with(&ec, json!({"use": "enc"})),
            with(&ec, json!({"key_ops": ["deriveKey"], "use": null})),
            with(&ec, json!({"alg": "ECDH-ES", "use": null})),
            with(&ec, json!({"crv": "P-521"})),
            with(&ec, json!({"alg": "ES512", "crv": "P-521"})),
            json!({"kty": "OKP", "crv": "X25519", "x": "AAAA"}),
            json!({"kty": "oct", "k": "c2VjcmV0"}),
            json!({"kty": "AKP", "alg": "ML-DSA-44"}),
        ];
        for key in skipped {
            assert!(matches!(read(&key), Err(Unused::Skipped(_))), "{key}");
        }
        // `verify` listed, with or without `sign`: used.
        assert!(read(&with(&ec, json!({"key_ops": ["sign", "verify"]}))).is_ok());
    }

    #[test]
    fn a_set_keeps_its_usable_keys_and_names_the_others_when_none_is() {
        let (rsa, ec) = keys();
        let bad = with(&ec, json!({"crv": "P-384", "kid": "bad\nkid"}));
        let set = json!({"keys": [bad.clone(), rsa]}).to_string();
        let ring = read_set(&set).unwrap();
        assert_eq!(ring.len(), 1);
        assert_eq!(ring[0].kid.as_deref(), Some("kid-rsa-sign"));
        let why = read_set(&json!({"keys": [bad]}).to_string()).err().unwrap();
        assert_eq!(
            why,
            "the JWKS has no usable public signing key (key \"bad\\nkid\": \
             its x and y are not the length its crv requires)"
        );
        assert!(read_set(&json!({"keys": []}).to_string()).is_err());
        assert!(read_set("{}").is_err() && read_set("[").is_err());
    }
}

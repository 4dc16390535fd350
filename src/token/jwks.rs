//! JWKS documents: the one this service publishes (public members only),
//! and reading one strictly for a verifier: a key whose `kty`, `crv`,
//! `alg` and `use` contradict each other, a private member, or two keys
//! under one `kid` refuse the whole set.

use serde_json::{json, Map, Value};

use super::{PublicKey, SigningAlgorithm};

use crate::b64;

/// Largest JWKS read (a file or a URL's answer).
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Why a JWKS cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JwksError(pub String);

/// The JWKS document publishing `keys` (`{"keys": [...]}`).
pub fn render<'a>(keys: impl IntoIterator<Item = &'a PublicKey>) -> String {
    let keys: Vec<Value> = keys.into_iter().map(PublicKey::jwk).collect();
    json!({ "keys": keys }).to_string()
}

/// Members that only a private or symmetric key has.
const SECRET_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

/// The keys of `text` that verify `alg`, each under its `kid` (its
/// thumbprint when it has none). Keys of other types, and keys for
/// encryption (`use: enc`, `key_ops` without `verify`) are skipped.
pub fn parse(text: &str, alg: SigningAlgorithm) -> Result<Vec<PublicKey>, JwksError> {
    let fail = |why: String| Err(JwksError(why));
    if text.len() > MAX_JWKS_BYTES {
        return fail(format!("the JWKS is over {MAX_JWKS_BYTES} bytes"));
    }
    let doc: Value =
        serde_json::from_str(text).map_err(|e| JwksError(format!("the JWKS is not JSON ({e})")))?;
    let Some(entries) = doc.get("keys").and_then(Value::as_array) else {
        return fail("the JWKS has no \"keys\" array".into());
    };
    let mut keys: Vec<PublicKey> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("key {}", i + 1);
        let Some(jwk) = entry.as_object() else {
            return fail(format!("{at} is not an object"));
        };
        let Some(key) = read_key(jwk, alg).map_err(|why| JwksError(format!("{at}: {why}")))? else {
            continue;
        };
        if let Some(same) = keys.iter().find(|k| k.kid() == key.kid()) {
            if !same.same_key(&key) {
                return fail(format!(
                    "{at}: kid `{}` names two different keys",
                    key.kid()
                ));
            }
            continue;
        }
        keys.push(key);
    }
    if keys.is_empty() {
        return fail(format!("the JWKS has no {alg} signing key"));
    }
    Ok(keys)
}

/// The algorithm a key's `kty` and `crv` fit, when this service knows it.
fn fits(jwk: &Map<String, Value>) -> Option<SigningAlgorithm> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    match (text("kty"), text("crv")) {
        (Some("EC"), Some("P-256")) => Some(SigningAlgorithm::ES256),
        (Some("OKP"), Some("Ed25519")) => Some(SigningAlgorithm::EdDSA),
        _ => None,
    }
}

/// One JWK: `Ok(None)` for a key that is not an `alg` signing key, `Err`
/// for one that contradicts itself or leaks a secret.
fn read_key(jwk: &Map<String, Value>, alg: SigningAlgorithm) -> Result<Option<PublicKey>, String> {
    if let Some(member) = SECRET_MEMBERS.iter().find(|m| jwk.contains_key(**m)) {
        return Err(format!(
            "has the private member `{member}`: a JWKS must publish public keys only"
        ));
    }
    let fit = fits(jwk);
    let declared = match jwk.get("alg") {
        None => None,
        Some(Value::String(a)) => Some(a.as_str()),
        Some(_) => return Err("`alg` is not a string".into()),
    };
    // `Ed25519` is RFC 9864's fully specified name for EdDSA on Ed25519.
    let signs_with = declared.map(|a| match a {
        "ES256" => Some(SigningAlgorithm::ES256),
        "EdDSA" | "Ed25519" => Some(SigningAlgorithm::EdDSA),
        _ => None,
    });
    match (fit, signs_with) {
        (Some(f), Some(Some(a))) if f != a => {
            return Err(format!(
                "its `alg` {} does not fit its key type",
                declared.unwrap_or("")
            ))
        }
        (None, Some(Some(a))) => {
            return Err(format!("its `alg` is {a}, but it is not {}", key_needed(a)))
        }
        (Some(_), Some(None)) if declared.is_some_and(is_jws_signature) => {
            return Err(format!(
                "its `alg` {} does not fit its key type",
                declared.unwrap_or("")
            ))
        }
        _ => {}
    }
    let verifies = match (jwk.get("use"), jwk.get("key_ops")) {
        (Some(u), _) if u != "sig" => false,
        (_, Some(ops)) => ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op == "verify")),
        _ => true,
    };
    // A declared non-signature `alg` (ECDH-ES) marks an encryption key.
    if fit != Some(alg) || !verifies || signs_with == Some(None) {
        return Ok(None);
    }
    let coordinate = |name: &str| -> Result<Vec<u8>, String> {
        let bytes = jwk
            .get(name)
            .and_then(Value::as_str)
            .and_then(|v| b64::url_decode(v).ok())
            .ok_or_else(|| format!("`{name}` is missing or not base64url"))?;
        match bytes.len() {
            32 => Ok(bytes),
            n => Err(format!("`{name}` is {n} bytes, not 32")),
        }
    };
    let raw = match alg {
        SigningAlgorithm::ES256 => [vec![4], coordinate("x")?, coordinate("y")?].concat(),
        _ => coordinate("x")?,
    };
    let key = PublicKey::from_raw(alg, &raw).map_err(|e| e.0)?;
    match jwk.get("kid") {
        None => Ok(Some(key)),
        Some(Value::String(kid)) if !kid.is_empty() => Ok(Some(key.with_kid(kid.clone()))),
        Some(_) => Err("`kid` is not a non-empty string".into()),
    }
}

/// True for the JWS signature algorithms of RFC 7518 and RFC 8037.
fn is_jws_signature(alg: &str) -> bool {
    ["HS", "RS", "PS", "ES"].iter().any(|p| alg.starts_with(p)) || alg.starts_with("Ed")
}

fn key_needed(alg: SigningAlgorithm) -> &'static str {
    match alg {
        SigningAlgorithm::ES256 => "an EC key on P-256",
        _ => "an OKP key on Ed25519",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::PrivateKey;

    fn key(alg: SigningAlgorithm) -> PublicKey {
        let pem = PrivateKey::generate(alg).unwrap();
        PrivateKey::from_pem(&pem, alg).unwrap().public().clone()
    }

    fn with(jwk: &PublicKey, change: Value) -> String {
        let mut entry = jwk.jwk();
        for (k, v) in change.as_object().unwrap() {
            match v {
                Value::Null => entry.as_object_mut().unwrap().remove(k),
                v => entry.as_object_mut().unwrap().insert(k.clone(), v.clone()),
            };
        }
        json!({ "keys": [entry] }).to_string()
    }

    #[test]
    fn published_documents_read_back() {
        let (es, ed) = (key(SigningAlgorithm::ES256), key(SigningAlgorithm::EdDSA));
        let doc = render([&es, &ed]);
        assert!(!doc.contains("\"d\""));
        assert_eq!(
            parse(&doc, SigningAlgorithm::ES256).unwrap(),
            vec![es.clone()]
        );
        assert_eq!(
            parse(&doc, SigningAlgorithm::EdDSA).unwrap(),
            vec![ed.clone()]
        );
        let err = parse(&render([&ed]), SigningAlgorithm::ES256).unwrap_err();
        assert_eq!(err.0, "the JWKS has no ES256 signing key");
        // Without a kid, the key goes by its thumbprint.
        let bare = parse(&with(&es, json!({"kid": null})), SigningAlgorithm::ES256).unwrap();
        assert_eq!(bare[0].kid(), es.thumbprint());
        // Encryption keys are skipped, not refused.
        for skipped in [
            json!({"use": "enc"}),
            json!({"key_ops": ["encrypt"]}),
            json!({"alg": "ECDH-ES"}),
        ] {
            let err = parse(&with(&es, skipped.clone()), SigningAlgorithm::ES256).unwrap_err();
            assert!(err.0.contains("no ES256 signing key"), "{skipped}: {err}");
        }
    }

    #[test]
    fn contradictory_or_secret_keys_refuse_the_set() {
        let es = key(SigningAlgorithm::ES256);
        for (change, why) in [
            (json!({"alg": "EdDSA"}), "does not fit"),
            (json!({"alg": "ES384"}), "does not fit"),
            (json!({"crv": "P-384"}), "but it is not an EC key on P-256"),
            (json!({"d": "AAAA"}), "private member `d`"),
            (json!({"x": "AAAA"}), "`x` is 3 bytes"),
            (json!({"kid": 7}), "`kid` is not"),
            (json!({"y": es.jwk()["x"]}), "is not a P-256 EC key"),
        ] {
            let err = parse(&with(&es, change.clone()), SigningAlgorithm::ES256).unwrap_err();
            assert!(err.0.contains(why), "{change}: {err}");
        }
        let other = key(SigningAlgorithm::ES256).with_kid(es.kid());
        let err = parse(&render([&es, &other]), SigningAlgorithm::ES256).unwrap_err();
        assert!(err.0.contains("names two different keys"), "{err}");
        assert!(parse("[]", SigningAlgorithm::ES256).is_err());
        assert!(parse("{", SigningAlgorithm::ES256).is_err());
    }
}

//! ES256 and EdDSA tokens against the verifiers other services run: jose's
//! `createRemoteJWKSet` and PyJWT's `PyJWKClient` against the served JWKS,
//! Node `jsonwebtoken` with the public PEM. A token of a key the JWKS does
//! not hold, one that borrows a published `kid`, an `alg` swap to HS256
//! keyed with the public key, and a JWKS holding only the next key are each
//! refused, with the library's own error; the service's `TokenVerifier`
//! gives the same verdicts.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use realtime_token::token::{PrivateKey, SigningAlgorithm, TokenVerifier, VerifyError};
use serde_json::Value;

use crate::signing::{get_jwks, rules, token_for_alice};
use crate::support::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The PyJWT venv `scripts/test` makes; a clear panic when it is missing
/// or holds other pins.
fn pyjwt_python() -> PathBuf {
    venv("pyjwt", "tests/pyjwt/requirements.txt").join("bin/python")
}

/// Runs a peer in `dir`; its stdout as JSON.
fn peer(mut cmd: Command, dir: &Path) -> Value {
    let out = cmd
        .current_dir(dir)
        .env("JWT_ISSUER", ISSUER)
        .env("JWT_AUDIENCE", AUDIENCE)
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn node(args: Vec<String>) -> Value {
    let dir = node_project("node", &["jose", "jsonwebtoken"]);
    let mut cmd = Command::new("node");
    cmd.arg("interop.mjs").args(args);
    peer(cmd, &dir)
}

fn pyjwt(args: Vec<String>) -> Value {
    let mut cmd = Command::new(pyjwt_python());
    cmd.arg("interop.py").args(args);
    peer(cmd, &root().join("tests/pyjwt"))
}

/// `args` then the tokens, as owned strings for a blocking task.
fn argv(args: &[&str], tokens: &[String]) -> Vec<String> {
    args.iter()
        .map(|a| a.to_string())
        .chain(tokens.iter().cloned())
        .collect()
}

async fn blocking(f: impl FnOnce() -> Value + Send + 'static) -> Value {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// `token` with its header replaced by `header` and signed by `sign`.
fn resigned(token: &str, header: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let message = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(header.to_string()));
    let signature = sign(message.as_bytes());
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The outcome per library for the four tokens, in order: good, foreign,
/// borrowed kid, alg swap; then the good token against the next key only.
struct Verdicts {
    jose: Vec<Value>,
    jose_next_only: Value,
    pyjwt: Vec<Value>,
    pyjwt_next_only: Value,
    jsonwebtoken: Vec<Value>,
    jsonwebtoken_next_only: Value,
}

fn code(result: &Value) -> &str {
    result["code"].as_str().unwrap_or("(accepted)")
}

async fn verdicts_for(alg: SigningAlgorithm) -> Verdicts {
    let (current, next, stranger) = (key_file(alg), key_file(alg), key_file(alg));
    let app = spawn_app_with(&pairs(&signing_env(alg, &current))).await;
    let next_only = spawn_app_with(&pairs(&signing_env(alg, &next))).await;
    let stranger_app = spawn_app_with(&pairs(&signing_env(alg, &stranger))).await;
    let good = token_for_alice(&app).await;
    let foreign = token_for_alice(&stranger_app).await;
    let kid = header_json(&good)["kid"].clone();
    let stranger_key =
        PrivateKey::from_pem(&std::fs::read_to_string(&stranger).unwrap(), alg).unwrap();
    // A published kid on a token the stranger signed.
    let borrowed = resigned(
        &foreign,
        &serde_json::json!({"alg": alg.as_str(), "typ": "JWT", "kid": kid}),
        |m| stranger_key.sign(m).unwrap(),
    );
    // The classic confusion: HS256 keyed with the public key's PEM.
    let public_pem_file = openssl_public(&current);
    let public_pem = std::fs::read_to_string(&public_pem_file).unwrap();
    let swapped = resigned(
        &good,
        &serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
        |m| {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, public_pem.as_bytes());
            ring::hmac::sign(&key, m).as_ref().to_vec()
        },
    );
    let tokens = vec![good.clone(), foreign, borrowed, swapped];

    // The service's own verifier, from the served JWKS.
    let (_, _, jwks) = get_jwks(&app).await;
    let ours = TokenVerifier::from_jwks(&rules(alg), &jwks.to_string()).unwrap();
    let verdicts: Vec<_> = tokens
        .iter()
        .map(|t| ours.verify(t).map(|c| c.sub))
        .collect();
    assert_eq!(verdicts[0], Ok("alice".into()), "{alg}");
    assert!(
        matches!(verdicts[1], Err(VerifyError::UnknownKey(_))),
        "{alg}"
    );
    assert_eq!(verdicts[2], Err(VerifyError::BadSignature), "{alg}");
    assert_eq!(verdicts[3], Err(VerifyError::WrongAlgorithm(alg)), "{alg}");
    let (_, _, next_jwks) = get_jwks(&next_only).await;
    let next_verifier = TokenVerifier::from_jwks(&rules(alg), &next_jwks.to_string()).unwrap();
    assert!(matches!(
        next_verifier.verify(&good),
        Err(VerifyError::UnknownKey(_))
    ));

    let url = app.url("/.well-known/jwks.json");
    let next_url = next_only.url("/.well-known/jwks.json");
    let a = alg.as_str();
    let jose = blocking({
        let args = argv(&["jwks", &url, a], &tokens);
        move || node(args)
    })
    .await;
    // jose computes the same RFC 7638 thumbprint the service uses as kid.
    assert_eq!(jose["thumbprints"][0], jwks["keys"][0]["kid"], "{alg}");
    let jose_next = blocking({
        let args = argv(&["jwks", &next_url, a], std::slice::from_ref(&good));
        move || node(args)
    })
    .await;
    let py = blocking({
        let args = argv(&["jwks", &url, a], &tokens);
        move || pyjwt(args)
    })
    .await;
    let py_next = blocking({
        let args = argv(&["jwks", &next_url, a], std::slice::from_ref(&good));
        move || pyjwt(args)
    })
    .await;
    let next_pem = openssl_public(&next);
    let (pem_file, next_pem_file) = (public_pem_file.clone(), next_pem.clone());
    let node_pem = blocking({
        let args = argv(&["pem", &pem_file, a], &tokens);
        move || node(args)
    })
    .await;
    let node_pem_next = blocking({
        let args = argv(&["pem", &next_pem_file, a], &[good]);
        move || node(args)
    })
    .await;
    Verdicts {
        jose: jose["results"].as_array().unwrap().clone(),
        jose_next_only: jose_next["results"][0].clone(),
        pyjwt: py.as_array().unwrap().clone(),
        pyjwt_next_only: py_next[0].clone(),
        jsonwebtoken: node_pem.as_array().unwrap().clone(),
        jsonwebtoken_next_only: node_pem_next[0].clone(),
    }
}

/// What jose and PyJWT answer, the same for both algorithms: the good token
/// accepted (claims and header intact), the others refused with each
/// library's own error.
fn assert_jose_and_pyjwt(v: &Verdicts, alg: SigningAlgorithm) {
    for (lib, results) in [("jose", &v.jose), ("pyjwt", &v.pyjwt)] {
        assert_eq!(results[0]["payload"]["sub"], "alice", "{lib}: {results:?}");
        assert_eq!(results[0]["payload"]["iss"], ISSUER, "{lib}");
        assert_eq!(results[0]["header"]["alg"], alg.as_str(), "{lib}");
    }
    let jose = [
        "(accepted)",
        "ERR_JWKS_NO_MATCHING_KEY",
        "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
        "ERR_JOSE_ALG_NOT_ALLOWED",
    ];
    assert_eq!(v.jose.iter().map(code).collect::<Vec<_>>(), jose, "{alg}");
    let pyjwt = [
        "(accepted)",
        "PyJWKClientError",
        "InvalidSignatureError",
        "InvalidAlgorithmError",
    ];
    assert_eq!(v.pyjwt.iter().map(code).collect::<Vec<_>>(), pyjwt, "{alg}");
    assert_eq!(code(&v.jose_next_only), "ERR_JWKS_NO_MATCHING_KEY");
    assert_eq!(code(&v.pyjwt_next_only), "PyJWKClientError");
}

/// Node jsonwebtoken's error per token (`None`: accepted).
fn jsonwebtoken_errors(v: &Verdicts) -> Vec<Option<&str>> {
    v.jsonwebtoken.iter().map(|r| r["error"].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es256_tokens_verify_in_jose_pyjwt_and_node_jsonwebtoken() {
    let v = verdicts_for(SigningAlgorithm::ES256).await;
    assert_jose_and_pyjwt(&v, SigningAlgorithm::ES256);
    assert_eq!(v.jsonwebtoken[0]["payload"]["sub"], "alice");
    assert_eq!(v.jsonwebtoken[0]["payload"]["aud"], AUDIENCE);
    // With one public key, jsonwebtoken cannot tell a foreign key by kid:
    // its signature simply does not match.
    let bad = Some("invalid signature");
    assert_eq!(
        jsonwebtoken_errors(&v),
        [None, bad, bad, Some("invalid algorithm")]
    );
    assert_eq!(v.jsonwebtoken_next_only["error"], "invalid signature");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eddsa_tokens_verify_in_jose_and_pyjwt_and_node_jsonwebtoken_cannot() {
    let v = verdicts_for(SigningAlgorithm::EdDSA).await;
    assert_jose_and_pyjwt(&v, SigningAlgorithm::EdDSA);
    // Node jsonwebtoken 9 has no EdDSA: it refuses every token, the good one
    // included (docs/src/token-signing.md says to use jose or ES256).
    let unknown = Some("Unknown key type \"ed25519\".");
    assert_eq!(
        jsonwebtoken_errors(&v),
        [unknown, unknown, unknown, Some("invalid algorithm")]
    );
    assert_eq!(
        v.jsonwebtoken_next_only["error"],
        "Unknown key type \"ed25519\"."
    );
}

//! `jwt-cookie`'s JWKS: keys whose parameters contradict their material are
//! refused when the set is loaded (Project Wycheproof's
//! `json_web_key_test.json`, in `src/session/codec/testdata/`). Tokens
//! signed by the real `jose`.

use serde_json::{json, Value};

use super::jwt_cookie::{env, jwks, write};
use crate::support::upstream::{Answer, Upstream};
use crate::support::*;

/// The Wycheproof vectors kept for these tests (source and commit inside).
fn wycheproof() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/session/codec/testdata/wycheproof_jwk.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// tcId `tc`'s published public key, and its private key for jose.
fn vector_keys(vectors: &Value, tc: &str) -> (Value, Value) {
    let vector = &vectors["vectors"][tc];
    let public = vector["jwks"]["keys"][0].clone();
    let private = vector["private_jwks"]["keys"][0].clone();
    (public, private)
}

#[tokio::test]
async fn jwks_keys_whose_parameters_contradict_their_material_are_refused_and_logged() {
    let vectors = wycheproof();
    // tcId 23: `"crv": "P-384"` on a P-256 point. Its holder signs ES256
    // with the P-256 key the coordinates really are.
    let (wrong_curve, mut p256) = vector_keys(&vectors, "23");
    p256["crv"] = json!("P-256");
    // tcId 7: an RSA key with the ROCA weakness (CVE-2017-15361).
    let (roca, roca_private) = vector_keys(&vectors, "7");
    let (written, keys) = write(
        json!({
            "good": "ES256",
            "wrong-curve": {"alg": "ES256", "jwk": p256},
            "roca": {"alg": "RS256", "jwk": roca_private},
        }),
        json!([
            {"key": "good", "kid": "good", "claims": {"sub": "alice"}},
            {"key": "wrong-curve", "kid": "kid-ec-sign", "claims": {"sub": "mallory"}},
            {"key": "roca", "kid": "kid-rsa-roca-sign", "claims": {"sub": "mallory"}},
        ]),
    );
    let mut set = jwks(&keys, &[("good", "good")]);
    let published = set["keys"].as_array_mut().unwrap();
    published.extend([wrong_curve.clone(), roca.clone()]);
    let server = Upstream::start(Answer::Json(set)).await;
    let url = server.url();
    let process = tokio::task::spawn_blocking(move || {
        ServerProcess::start(&env(&[
            ("SESSION_JWKS_URL", &url),
            ("SESSION_JWT_ALGORITHMS", "ES256,RS256"),
        ]))
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let post = |cookie: &str| {
        client
            .post(process.url("/api/realtime-token"))
            .header("Cookie", cookie)
            .send()
    };
    let (_, claims) = expect_token(post(&written[0]).await.unwrap()).await;
    assert_eq!(claims.sub, "alice");
    // Both signatures are good for the key material; the keys are not used.
    for cookie in &written[1..] {
        let res = post(cookie).await.unwrap();
        expect_error(res, 401, "unauthenticated").await;
    }
    // The log is complete once the process has exited.
    process.terminate();
    let process = tokio::task::spawn_blocking(move || {
        let mut process = process;
        assert_eq!(process.wait_exit(15), Some(0));
        process
    })
    .await
    .unwrap();
    let log = process.log_text();
    for line in [
        r#"JWKS: key "kid-ec-sign" refused: its x and y are not the length its crv requires"#,
        r#"JWKS: key "kid-rsa-roca-sign" refused: the RSA key has the ROCA weakness"#,
    ] {
        assert!(log.contains(line), "no {line:?} in:\n{log}");
    }

    // A JWKS file of only such keys is refused at start-up, with the reasons.
    let dir = scratch_dir().join(format!("jwks-wycheproof-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jwks.json");
    std::fs::write(&file, json!({"keys": [wrong_curve, roca]}).to_string()).unwrap();
    let Err(errors) = config_with(&env(&[
        ("SESSION_JWKS_FILE", file.to_str().unwrap()),
        ("SESSION_JWT_ALGORITHMS", "ES256,RS256"),
    ])) else {
        panic!("a JWKS of contradictory keys was accepted");
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert!(errors.mentions("SESSION_JWKS_FILE"), "{errors}");
    let text = errors.to_string();
    assert!(
        text.contains("kid-ec-sign") && text.contains("ROCA"),
        "{text}"
    );
}

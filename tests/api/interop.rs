//! Tokens must verify in Node's `jsonwebtoken` and `jose`, and theirs here.

use std::path::PathBuf;
use std::process::Command;

use realtime_token::token::TokenVerifier;
use serde_json::Value;

use crate::support::*;

fn node_dir() -> PathBuf {
    node_project("node", &["jose", "jsonwebtoken"])
}

fn node(args: &[&str]) -> String {
    let out = Command::new("node")
        .arg("interop.mjs")
        .args(args)
        .current_dir(node_dir())
        .env("TEST_JWT_SECRET", JWT_SECRET)
        .env("JWT_ISSUER", ISSUER)
        .env("JWT_AUDIENCE", AUDIENCE)
        .output()
        .expect("node must be installed for the interop tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn service_tokens_verify_in_jsonwebtoken_and_jose() {
    let app = spawn_app().await;
    let body: Value = app
        .post_token(Some(&app.cookie("alice")))
        .await
        .json()
        .await
        .unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    let out: Value = serde_json::from_str(
        &tokio::task::spawn_blocking(move || node(&["verify", &token]))
            .await
            .unwrap(),
    )
    .unwrap();
    for lib in ["jsonwebtoken", "jose"] {
        assert_eq!(out[lib]["sub"], "alice", "{lib}: {out}");
        assert_eq!(out[lib]["iss"], ISSUER, "{lib}");
        assert_eq!(out[lib]["aud"], AUDIENCE, "{lib}");
        assert_eq!(
            out[lib]["permissions"]["rooms"],
            serde_json::json!(["document-*", "user-alice"]),
            "{lib}"
        );
    }
    assert_eq!(out["joseHeader"]["alg"], "HS256");
}

#[tokio::test]
async fn node_rejects_a_tampered_service_token() {
    let app = spawn_app().await;
    let body: Value = app
        .post_token(Some(&app.cookie("alice")))
        .await
        .json()
        .await
        .unwrap();
    let token = body["token"].as_str().unwrap();
    // Change the signature's first character: the last one carries unused
    // bits, so changing it may leave the decoded signature as it was.
    let at = token.rfind('.').unwrap() + 1;
    let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
    let out: Value = serde_json::from_str(
        &tokio::task::spawn_blocking(move || node(&["verify", &tampered]))
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(out["jsonwebtoken"]["error"].is_string(), "{out}");
    assert!(out["jose"]["error"].is_string(), "{out}");
}

#[test]
fn tokens_signed_by_node_jsonwebtoken_verify_here() {
    let token = node(&["sign", "zoe"]);
    let jwt = config_with(&[]).unwrap().jwt;
    let claims = TokenVerifier::new(&jwt)
        .verify(token.trim())
        .expect("verifies");
    assert_eq!(claims.sub, "zoe");
    assert!(claims.can_join("document-7"));
    assert!(!claims.can_join("user-zoe"));

    let out = run_cli(&[], &["verify", token.trim()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The documented verification rules (docs/src/endpoint.md) against jose's `jwtVerify` and Node
/// `jsonwebtoken`: where they agree, and the documented differences.
#[test]
fn verification_rules_match_jose() {
    use crate::verify_rules::{claims_with, good_claims, header, hs256};
    use serde_json::json;
    let now = realtime_token::token::unix_now();
    let with_claims = |changes: Value| hs256(&header(), &claims_with(changes));
    let with_header = |h: Value| hs256(&h, &good_claims());
    // (case, here, jose, jsonwebtoken): true = accepted.
    let cases = [
        (
            "nbf in 1 h",
            with_claims(json!({"nbf": now + 3600})),
            false,
            false,
            false,
        ),
        (
            "nbf as text",
            with_claims(json!({"nbf": "0"})),
            false,
            false,
            false,
        ),
        (
            "nbf 1 min ago",
            with_claims(json!({"nbf": now - 60})),
            true,
            true,
            true,
        ),
        (
            "no iat",
            with_claims(json!({"iat": null})),
            true,
            true,
            true,
        ),
        (
            "iat in 1 h",
            with_claims(json!({"iat": now + 3600})),
            true,
            true,
            true,
        ),
        (
            "iat as text",
            with_claims(json!({"iat": "0"})),
            false,
            false,
            true,
        ),
        (
            "fractional iat",
            with_claims(json!({"iat": now as f64 + 0.5})),
            true,
            true,
            true,
        ),
        (
            "alg none",
            with_header(json!({"alg": "none"})),
            false,
            false,
            false,
        ),
        (
            "crit unknown",
            with_header(json!({"alg": "HS256", "crit": ["urn:x"], "urn:x": 1})),
            false,
            false,
            true,
        ),
        (
            "crit b64 false",
            with_header(json!({"alg": "HS256", "crit": ["b64"], "b64": false})),
            false,
            false,
            true,
        ),
        // Stricter here: jose understands b64 and accepts it when true.
        (
            "crit b64 true",
            with_header(json!({"alg": "HS256", "crit": ["b64"], "b64": true})),
            false,
            true,
            true,
        ),
        // Stricter here: NumericDates must not be negative, sub not empty.
        ("nbf -1", with_claims(json!({"nbf": -1})), false, true, true),
        (
            "empty sub",
            with_claims(json!({"sub": ""})),
            false,
            true,
            true,
        ),
        // The service's own claims must have their types here.
        ("jti 7", with_claims(json!({"jti": 7})), false, true, true),
        (
            "extra claim",
            with_claims(json!({"org": ["a"]})),
            true,
            true,
            true,
        ),
    ];
    let jwt = config_with(&[]).unwrap().jwt;
    let verifier = TokenVerifier::new(&jwt);
    for (name, token, here, jose, jsonwebtoken) in cases {
        let out: Value = serde_json::from_str(&node(&["verify", &token])).unwrap();
        let verdict = |lib: &str| out[lib].get("error").is_none();
        assert_eq!(verifier.verify(&token).is_ok(), here, "{name}: here");
        assert_eq!(verdict("jose"), jose, "{name}: jose {out}");
        assert_eq!(
            verdict("jsonwebtoken"),
            jsonwebtoken,
            "{name}: jsonwebtoken {out}"
        );
    }
}

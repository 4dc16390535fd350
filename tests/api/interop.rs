//! Tokens must verify in Node's `jsonwebtoken` and `jose`, and theirs here.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use realtime_token::token::TokenVerifier;
use serde_json::Value;

use crate::helpers::*;

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node")
}

/// Installs the Node peers from the lock file once per run.
fn ensure_node_modules() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if node_dir().join("node_modules/jose").exists()
            && node_dir().join("node_modules/jsonwebtoken").exists()
        {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(node_dir())
            .status()
            .expect("npm must be installed for the interop tests");
        assert!(status.success(), "npm ci failed in tests/node");
    });
}

fn node(args: &[&str]) -> String {
    ensure_node_modules();
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

//! Key rotation with `JWT_KEYS`: the first key signs (with `kid`), every
//! configured key verifies, a removed key no longer does.

use realtime_token::token::{TokenVerifier, VerifyError};

use crate::support::*;

const NEW: &str = "new-key-secret-0123456789abcdef-0123456789";
const OLD: &str = "old-key-secret-0123456789abcdef-0123456789";

fn verifier(keys: &str) -> TokenVerifier {
    TokenVerifier::new(
        &config_with(&[("JWT_KEYS", keys), ("JWT_SECRET", "")])
            .unwrap()
            .jwt,
    )
}

async fn token_from(keys: &str) -> String {
    let app = spawn_app_with(&[("JWT_KEYS", keys), ("JWT_SECRET", "")]).await;
    let res = app.post_token(Some(&app.cookie("alice"))).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_first_key_signs_with_its_kid() {
    let token = token_from(&format!("k2:{NEW},k1:{OLD}")).await;
    assert_eq!(header_json(&token)["kid"], "k2");
    assert_eq!(
        verifier(&format!("k2:{NEW}")).verify(&token).unwrap().sub,
        "alice"
    );
    // The plain JWT_SECRET signs without a kid, as before.
    let app = spawn_app().await;
    let body: serde_json::Value = app
        .post_token(Some(&app.cookie("alice")))
        .await
        .json()
        .await
        .unwrap();
    assert!(header_json(body["token"].as_str().unwrap())
        .get("kid")
        .is_none());
}

#[tokio::test]
async fn old_tokens_verify_while_their_key_is_configured_and_fail_after() {
    let old_token = token_from(&format!("k1:{OLD}")).await;
    // Rotation step 1: the new key signs, the old one still verifies.
    let during = format!("k2:{NEW},k1:{OLD}");
    assert_eq!(verifier(&during).verify(&old_token).unwrap().sub, "alice");
    let out = run_cli(
        &[("JWT_KEYS", &during), ("JWT_SECRET", "")],
        &["verify", &old_token],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Step 2: the old key is removed.
    let after = format!("k2:{NEW}");
    assert_eq!(
        verifier(&after).verify(&old_token),
        Err(VerifyError::UnknownKey("k1".into()))
    );
    let out = run_cli(
        &[("JWT_KEYS", &after), ("JWT_SECRET", "")],
        &["verify", &old_token],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("key id `k1` is not configured"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_kid_cannot_borrow_another_keys_secret() {
    // Signed with OLD but claiming kid k2 (which is NEW): refused.
    let forged = token_from(&format!("k2:{OLD}")).await;
    assert_eq!(
        verifier(&format!("k2:{NEW},k1:{OLD}")).verify(&forged),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn jwt_keys_are_validated() {
    for bad in [
        "nokid",
        ":secret-0123456789abcdef-0123456789",
        "k1:short",
        "k 1:secret-0123456789abcdef-0123456789",
        "a:secret-0123456789abcdef-0123456789,a:secret-0123456789abcdef-0123456789",
    ] {
        let errors = config_with(&[("JWT_KEYS", bad)]).unwrap_err();
        assert!(errors.mentions("JWT_KEYS"), "{bad}: {errors}");
        assert!(
            !errors.to_string().contains("0123456789abcdef"),
            "secret echoed: {errors}"
        );
    }
}

#[test]
fn jwt_leeway_bounds_the_clock_skew_allowed_on_exp() {
    let config = |leeway: &str| {
        config_with(&[("TOKEN_TTL", "10s"), ("JWT_LEEWAY", leeway)])
            .unwrap()
            .jwt
    };
    // Expired 10 s ago.
    let iat = realtime_token::token::unix_now() - 20;
    let token = realtime_token::TokenIssuer::new(&config("30s"))
        .issue_at("alice", vec!["document-1".into()], iat)
        .unwrap()
        .token;
    assert_eq!(
        TokenVerifier::new(&config("30s"))
            .verify(&token)
            .unwrap()
            .sub,
        "alice"
    );
    assert_eq!(
        TokenVerifier::new(&config("0")).verify(&token),
        Err(VerifyError::Expired)
    );
}

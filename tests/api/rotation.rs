//! Key rotation with `JWT_KEYS`: the first key signs (with `kid`), every
//! configured key verifies, a removed key no longer does. And the rotation
//! of an ES256 key pair through the JWKS (docs/src/token-signing.md).

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

/// One step of an ES256 key rotation: a service signing with `signing`
/// and publishing `published`; its JWKS and a token it signed.
async fn rotation_step(signing: &str, published: &[&str]) -> (String, String) {
    use realtime_token::token::SigningAlgorithm;
    let mut env = signing_env(SigningAlgorithm::ES256, signing);
    env.push(("JWT_PUBLISHED_KEY_FILES", published.join(",")));
    let app = spawn_app_with(&pairs(&env)).await;
    let (status, _, jwks) = crate::signing::get_jwks(&app).await;
    assert_eq!(status, 200);
    (
        jwks.to_string(),
        crate::signing::token_for_alice(&app).await,
    )
}

/// The kids of a JWKS document, in order.
fn kids(jwks: &str) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(jwks).unwrap();
    doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// The rotation of docs/src/token-signing.md, step by step, with verifiers
/// that keep the JWKS they fetched: publish the next key, switch once the
/// caches hold it, keep the old key until its tokens expire, remove it.
#[tokio::test]
async fn es256_rotation_publish_switch_keep_remove() {
    use realtime_token::token::SigningAlgorithm;
    let alg = SigningAlgorithm::ES256;
    let verifier = |jwks: &str| {
        TokenVerifier::from_jwks(&crate::signing::rules(alg), jwks).expect("usable JWKS")
    };
    let (old, next) = (key_file(alg), key_file(alg));
    let (old_kid, next_kid) = (
        public_of(&old, alg).thumbprint(),
        public_of(&next, alg).thumbprint(),
    );

    // Before: the old key signs and is alone in the JWKS.
    let (before, old_token) = rotation_step(&old, &[]).await;
    assert_eq!(kids(&before), std::slice::from_ref(&old_kid));

    // 1. Publish the next key; the old one still signs.
    let (published, token) = rotation_step(&old, &[&next]).await;
    assert_eq!(kids(&published), [old_kid.clone(), next_kid.clone()]);
    assert_eq!(header_json(&token)["kid"], old_kid.as_str());

    // 3. Switch: the next key signs, the old one stays published.
    let (switched, new_token) = rotation_step(&next, &[&old]).await;
    assert_eq!(kids(&switched), [next_kid.clone(), old_kid.clone()]);
    assert_eq!(header_json(&new_token)["kid"], next_kid.as_str());
    // A verifier still holding step 1's JWKS accepts the new tokens: why
    // step 2 waits for the caches. One holding the JWKS from before
    // step 1 would not.
    assert_eq!(
        verifier(&published).verify(&new_token).unwrap().sub,
        "alice"
    );
    assert_eq!(
        verifier(&before).verify(&new_token),
        Err(VerifyError::UnknownKey(next_kid.clone()))
    );
    // Tokens handed out before the switch still verify against the new JWKS.
    assert_eq!(verifier(&switched).verify(&old_token).unwrap().sub, "alice");

    // 5. Remove the old key once its tokens have expired: they no longer
    // verify, the new ones do.
    let (after, _) = rotation_step(&next, &[]).await;
    assert_eq!(kids(&after), std::slice::from_ref(&next_kid));
    assert_eq!(
        verifier(&after).verify(&old_token),
        Err(VerifyError::UnknownKey(old_kid))
    );
    assert_eq!(verifier(&after).verify(&new_token).unwrap().sub, "alice");
}

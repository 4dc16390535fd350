use std::collections::HashSet;

use crate::support::*;

#[tokio::test]
async fn happy_path_returns_a_verifiable_token_with_the_documented_claims() {
    let app = spawn_app().await;
    let res = app.post_token(Some(&app.cookie("alice"))).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let (body, claims) = expect_token(res).await;

    let header = header_json(body["token"].as_str().unwrap());
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.exp - claims.iat, 3600);
    let now = realtime_token::token::unix_now();
    assert!(claims.iat.abs_diff(now) <= 5, "iat is now");
    assert_eq!(claims.permissions.rooms, ["document-*", "user-alice"]);
    assert_eq!(claims.iss.as_deref(), Some(ISSUER));
    assert!(claims.jti.as_deref().is_some_and(|j| j.len() >= 16));
    assert_eq!(body["expiresAt"], claims.exp);
    assert_eq!(
        body["rooms"],
        serde_json::json!(["document-*", "user-alice"])
    );
}

#[tokio::test]
async fn token_ttl_follows_config() {
    let app = spawn_app_with(&[("TOKEN_TTL", "15m")]).await;
    let (body, claims) = expect_token(app.post_token(Some(&app.cookie("bob"))).await).await;
    assert_eq!(claims.exp - claims.iat, 900);
    assert_eq!(body["expiresIn"], 900);
}

#[tokio::test]
async fn every_token_has_its_own_jti() {
    let app = spawn_app().await;
    let mut seen = HashSet::new();
    for _ in 0..5 {
        let (_, claims) = expect_token(app.post_token(Some(&app.cookie("alice"))).await).await;
        assert!(seen.insert(claims.jti.unwrap()));
    }
}

#[tokio::test]
async fn without_issuer_and_audience_the_claims_are_absent() {
    let app = spawn_app_with(&[("JWT_ISSUER", ""), ("JWT_AUDIENCE", "")]).await;
    let res = app.post_token(Some(&app.cookie("alice"))).await;
    let body: serde_json::Value = res.json().await.unwrap();
    let claims = realtime_token::token::TokenVerifier::new(
        &config_with(&[("JWT_ISSUER", ""), ("JWT_AUDIENCE", "")])
            .unwrap()
            .jwt,
    )
    .verify(body["token"].as_str().unwrap())
    .unwrap();
    assert_eq!(claims.iss, None);
    assert_eq!(claims.aud, None);
}

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

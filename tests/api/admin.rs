use serde_json::json;

use crate::support::*;

async fn admin_post(app: &TestApp, auth: &str, body: serde_json::Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/realtime-token"))
        .header("Authorization", auth)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_key_mints_for_any_subject_within_the_policy() {
    let app = spawn_app_with(&[
        ("ADMIN_API_KEY", ADMIN_KEY),
        ("REALTIME_ROOMS", "document-*,org-{org}-*"),
    ])
    .await;
    let auth = format!("Bearer {ADMIN_KEY}");
    let res = admin_post(
        &app,
        &auth,
        json!({"sub": "job-7", "attributes": {"org": "acme"}}),
    )
    .await;
    let (_, claims) = expect_token(res).await;
    assert_eq!(claims.sub, "job-7");
    assert_eq!(claims.permissions.rooms, ["document-*", "org-acme-*"]);

    let res = admin_post(
        &app,
        &auth,
        json!({"sub": "job-7", "rooms": ["document-9"]}),
    )
    .await;
    let (_, claims) = expect_token(res).await;
    assert_eq!(claims.permissions.rooms, ["document-9"]);

    // Still bounded by the policy.
    let res = admin_post(
        &app,
        &auth,
        json!({"sub": "job-7", "rooms": ["secret-room"]}),
    )
    .await;
    expect_error(res, 403, "room_not_allowed").await;
    // The scheme is case-insensitive, as RFC 7235 says.
    let res = admin_post(&app, &format!("bearer {ADMIN_KEY}"), json!({"sub": "x"})).await;
    expect_token(res).await;
}

#[tokio::test]
async fn wrong_prefix_empty_or_differently_cased_keys_are_401() {
    let app = spawn_app_with(&[("ADMIN_API_KEY", ADMIN_KEY)]).await;
    let wrong = [
        "Bearer wrong-key-0123456789abcdef-0123456789abcdef".to_owned(),
        format!("Bearer {}", &ADMIN_KEY[..ADMIN_KEY.len() - 1]),
        format!("Bearer {ADMIN_KEY}x"),
        format!("Bearer {}", ADMIN_KEY.to_uppercase()),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
    ];
    for auth in wrong {
        let res = admin_post(&app, &auth, json!({"sub": "job-7"})).await;
        expect_error(res, 401, "unauthenticated").await;
    }
}

#[tokio::test]
async fn bearer_minting_is_refused_when_disabled() {
    let app = spawn_app().await;
    let res = admin_post(
        &app,
        &format!("Bearer {ADMIN_KEY}"),
        json!({"sub": "job-7"}),
    )
    .await;
    let msg = expect_error(res, 401, "unauthenticated").await;
    assert!(msg.contains("disabled"));
}

#[tokio::test]
async fn admin_minting_needs_a_valid_sub() {
    let app = spawn_app_with(&[("ADMIN_API_KEY", ADMIN_KEY)]).await;
    let auth = format!("Bearer {ADMIN_KEY}");
    for body in [
        json!({}),
        json!({"sub": ""}),
        json!({"sub": "x".repeat(300)}),
    ] {
        expect_error(admin_post(&app, &auth, body).await, 400, "invalid_request").await;
    }
}

#[tokio::test]
async fn a_session_caller_cannot_choose_its_subject() {
    let app = spawn_app_with(&[("ADMIN_API_KEY", ADMIN_KEY)]).await;
    let res = app
        .post_json(&app.cookie("alice"), json!({"sub": "root"}))
        .await;
    expect_error(res, 400, "invalid_request").await;
    let res = app
        .post_json(
            &app.cookie("alice"),
            json!({"attributes": {"roles": ["admin"]}}),
        )
        .await;
    expect_error(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn numbers_beyond_an_integer_never_become_a_room() {
    // Found while fuzzing the request body: a 53-digit number parses as a
    // float; such an attribute must drop its grant, not print as `3.3e52`.
    let app = spawn_app_with(&[
        ("ADMIN_API_KEY", ADMIN_KEY),
        ("REALTIME_ROOMS", "document-*,org-{org}-*"),
    ])
    .await;
    let org: serde_json::Value =
        serde_json::from_str("33333333333333333333333333333333333333333333333333337").unwrap();
    let body = json!({"sub": "bob", "attributes": {"org": org}});
    let res = admin_post(&app, &format!("Bearer {ADMIN_KEY}"), body).await;
    let (_, claims) = expect_token(res).await;
    assert_eq!(claims.permissions.rooms, ["document-*"]);
    let body = json!({"sub": "bob", "attributes": {"org": 42}});
    let res = admin_post(&app, &format!("Bearer {ADMIN_KEY}"), body).await;
    let (_, claims) = expect_token(res).await;
    assert_eq!(claims.permissions.rooms, ["document-*", "org-42-*"]);
}

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn role_grants_apply_to_principals_with_the_role() {
    let app = spawn_app_with(&[
        ("REALTIME_ROOMS", "document-*"),
        ("REALTIME_ROLE_ROOMS", "admin=*;editor=drafts-{sub}"),
    ])
    .await;
    let admin = app.cookie(r#"j:{"sub":"root","roles":["admin"]}"#);
    let (_, claims) = expect_token(app.post_token(Some(&admin)).await).await;
    assert_eq!(claims.permissions.rooms, ["document-*", "*"]);

    let editor = app.cookie(r#"j:{"sub":"ed","roles":"editor"}"#);
    let (_, claims) = expect_token(app.post_token(Some(&editor)).await).await;
    assert_eq!(claims.permissions.rooms, ["document-*", "drafts-ed"]);

    let plain = app.cookie("someone");
    let (_, claims) = expect_token(app.post_token(Some(&plain)).await).await;
    assert_eq!(claims.permissions.rooms, ["document-*"]);
}

#[tokio::test]
async fn hostile_subjects_and_attributes_never_widen_grants() {
    let app = spawn_app_with(&[("REALTIME_ROOMS", "document-*,user-{sub},org-{org}-*")]).await;
    let long = "a".repeat(10 * 1024);
    for hostile in [
        "*",
        "a,b",
        "a b",
        "x*",
        "../etc",
        "ａｄｍｉｎ",
        "a\u{0}b",
        long.as_str(),
    ] {
        let value = format!(
            "j:{}",
            json!({"sub": format!("u{hostile}"), "org": hostile})
        );
        let res = app.post_token(Some(&app.cookie(&value))).await;
        if res.status() == 401 {
            // A sub with control characters or over the length limit is refused outright.
            continue;
        }
        let (_, claims) = expect_token(res).await;
        assert_eq!(claims.permissions.rooms, ["document-*"], "for {hostile:?}");
    }
}

#[tokio::test]
async fn a_principal_without_any_grant_gets_403_not_an_empty_token() {
    let app = spawn_app_with(&[("REALTIME_ROOMS", "user-{sub}")]).await;
    let msg = expect_error(
        app.post_token(Some(&app.cookie("bad*sub"))).await,
        403,
        "room_not_allowed",
    )
    .await;
    assert!(msg.contains("no rooms"));
}

#[tokio::test]
async fn requesting_a_subset_narrows_the_token() {
    let app = spawn_app().await;
    let cookie = app.cookie("alice");
    let res = app
        .post_json(
            &cookie,
            json!({"rooms": ["document-42", "user-alice", "document-42"]}),
        )
        .await;
    let (body, claims) = expect_token(res).await;
    assert_eq!(claims.permissions.rooms, ["document-42", "user-alice"]);
    assert_eq!(body["rooms"], json!(["document-42", "user-alice"]));

    let res = app
        .post_json(&cookie, json!({"rooms": ["document-4*"]}))
        .await;
    let (_, claims) = expect_token(res).await;
    assert_eq!(claims.permissions.rooms, ["document-4*"]);
}

#[tokio::test]
async fn requesting_a_room_outside_the_policy_is_403_naming_it() {
    let app = spawn_app().await;
    let cookie = app.cookie("alice");
    for room in ["user-bob", "*", "doc*"] {
        let res = app
            .post_json(&cookie, json!({"rooms": ["document-1", room]}))
            .await;
        let msg = expect_error(res, 403, "room_not_allowed").await;
        assert!(msg.contains(room), "{msg}");
    }
}

#[tokio::test]
async fn malformed_room_requests_are_400() {
    let app = spawn_app().await;
    let cookie = app.cookie("alice");
    for rooms in [
        json!([]),
        json!(["do*c"]),
        json!([""]),
        json!(["a b"]),
        json!(["x".repeat(200)]),
        json!("document-1"),
        json!([1]),
    ] {
        let res = app.post_json(&cookie, json!({ "rooms": rooms })).await;
        expect_error(res, 400, "invalid_request").await;
    }
}

#[tokio::test]
async fn the_role_attribute_is_configurable() {
    let app = spawn_app_with(&[
        ("REALTIME_ROOMS", "document-*"),
        ("REALTIME_ROLE_ROOMS", "admin=*"),
        ("REALTIME_ROLE_ATTRIBUTE", "groups"),
    ])
    .await;
    let by_groups = app.cookie(r#"j:{"sub":"root","groups":["admin"]}"#);
    let (_, claims) = expect_token(app.post_token(Some(&by_groups)).await).await;
    assert_eq!(claims.permissions.rooms, ["document-*", "*"]);
    // `roles` no longer counts.
    let by_roles = app.cookie(r#"j:{"sub":"root","roles":["admin"]}"#);
    let (_, claims) = expect_token(app.post_token(Some(&by_roles)).await).await;
    assert_eq!(claims.permissions.rooms, ["document-*"]);
}

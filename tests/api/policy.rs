use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn role_grants_apply_to_principals_with_the_role() {
    let app = spawn_app_with(&[
        ("REALTIME_ROOMS", "document-*"),
        ("REALTIME_ROLE_ROOMS", "admin=*;editor=drafts-{sub}"),
        ("SESSION_COOKIE_VALUE", "json"),
    ])
    .await;
    let admin = app.cookie(r#"j:{"sub":"root","roles":["admin"]}"#);
    let (_, claims) = expect_token(app.post_token(Some(&admin)).await).await;
    assert_eq!(claims.permissions.rooms, ["document-*", "*"]);

    let editor = app.cookie(r#"j:{"sub":"ed","roles":"editor"}"#);
    let (_, claims) = expect_token(app.post_token(Some(&editor)).await).await;
    assert_eq!(claims.permissions.rooms, ["document-*", "drafts-ed"]);

    let plain = app.cookie(r#"j:{"sub":"someone"}"#);
    let (_, claims) = expect_token(app.post_token(Some(&plain)).await).await;
    assert_eq!(claims.permissions.rooms, ["document-*"]);
}

#[tokio::test]
async fn hostile_subjects_and_attributes_never_widen_grants() {
    let app = spawn_app_with(&[
        ("REALTIME_ROOMS", "document-*,user-{sub},org-{org}-*"),
        ("SESSION_COOKIE_VALUE", "json"),
    ])
    .await;
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
        ("SESSION_COOKIE_VALUE", "json"),
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

#[tokio::test]
async fn a_tenant_never_shares_rooms_with_another_tenant_through_a_separator() {
    // The room policy page's own example. `org-acme-*` covers every room whose org
    // part is `acme`; an org id containing the separator (`acme-corp`)
    // would land inside it, so such a value drops its grant instead.
    let app = spawn_app_with(&[
        ("REALTIME_ROOMS", "org-{org}-*,user-{sub}-*"),
        ("SESSION_COOKIE_VALUE", "json"),
    ])
    .await;
    let acme = app.cookie(&format!("j:{}", json!({"sub": "bob", "org": "acme"})));
    let (_, claims) = expect_token(app.post_token(Some(&acme)).await).await;
    assert_eq!(claims.permissions.rooms, ["org-acme-*", "user-bob-*"]);
    let other_tenant = app.post_json(&acme, json!({"rooms": ["org-acmecorp-board"]}));
    expect_error(other_tenant.await, 403, "room_not_allowed").await;

    let corp = app.cookie(&format!(
        "j:{}",
        json!({"sub": "bob-smith", "org": "acme-corp"})
    ));
    expect_error(app.post_token(Some(&corp)).await, 403, "room_not_allowed").await;
    let mixed = app.cookie(&format!(
        "j:{}",
        json!({"sub": "carol", "org": "acme-corp"})
    ));
    let (_, claims) = expect_token(app.post_token(Some(&mixed)).await).await;
    assert_eq!(claims.permissions.rooms, ["user-carol-*"]);
    let res = app.post_json(&mixed, json!({"rooms": ["org-acme-corp-board"]}));
    expect_error(res.await, 403, "room_not_allowed").await;
}

#[tokio::test]
async fn a_placeholder_right_before_the_wildcard_is_refused_at_start_up() {
    let errors = config_with(&[("REALTIME_ROOMS", "user-{sub}*")]).unwrap_err();
    assert!(errors.mentions("REALTIME_ROOMS"), "{errors}");
    assert!(errors.to_string().contains("separator"), "{errors}");
    // With a separator the same grant is fine.
    assert!(config_with(&[("REALTIME_ROOMS", "user-{sub}:*")]).is_ok());
}

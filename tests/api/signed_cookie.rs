use realtime_token::session::{codec::CookieSigner, cookies::percent_encode};

use crate::support::*;

#[tokio::test]
async fn no_cookie_is_401() {
    let app = spawn_app().await;
    let msg = expect_error(app.post_token(None).await, 401, "unauthenticated").await;
    assert!(msg.contains("log in"));
    // Another cookie name does not count either.
    let other = app.cookie("alice").replacen("session=", "other=", 1);
    app.expect_unauthenticated(&other).await;
}

#[tokio::test]
async fn tampered_cookie_is_401() {
    let app = spawn_app().await;
    let good = app.cookie("alice");
    let tampered = good.replacen("alice", "admin", 1);
    assert_ne!(good, tampered);
    app.expect_unauthenticated(&tampered).await;
}

#[tokio::test]
async fn cookie_signed_with_an_unknown_secret_is_401() {
    let app = spawn_app().await;
    let signer = CookieSigner::new(["some-other-secret-0123456789abcdef"]);
    let cookie = format!("session={}", percent_encode(&signer.sign("alice")));
    app.expect_unauthenticated(&cookie).await;
}

#[tokio::test]
async fn rotated_secret_is_still_accepted_until_removed() {
    let both = format!("{SESSION_SECRET},{OLD_SESSION_SECRET}");
    let app = spawn_app_with(&[("SESSION_SECRET", &both)]).await;
    let old = CookieSigner::new([OLD_SESSION_SECRET]);
    let cookie = format!("session={}", percent_encode(&old.sign("alice")));
    let (_, claims) = expect_token(app.post_token(Some(&cookie)).await).await;
    assert_eq!(claims.sub, "alice");

    let app = spawn_app().await;
    app.expect_unauthenticated(&cookie).await;
}

#[tokio::test]
async fn unsigned_values_are_401() {
    let app = spawn_app().await;
    for cookie in [
        "session=alice",
        "session=s%3Aalice",
        "session=",
        "session=j%3A%7B%22sub%22%3A%22alice%22%7D",
    ] {
        app.expect_unauthenticated(cookie).await;
    }
}

#[tokio::test]
async fn json_cookie_carries_sub_and_attributes() {
    let app = spawn_app_with(&[
        ("REALTIME_ROOMS", "user-{sub},org-{org}-*"),
        ("SESSION_COOKIE_VALUE", "json"),
    ])
    .await;
    let cookie = app.cookie(r#"j:{"sub":"carol","org":"acme"}"#);
    let (_, claims) = expect_token(app.post_token(Some(&cookie)).await).await;
    assert_eq!(claims.sub, "carol");
    assert_eq!(claims.permissions.rooms, ["user-carol", "org-acme-*"]);
}

#[tokio::test]
async fn json_cookie_without_a_string_sub_is_401() {
    let app = spawn_app_with(&[("SESSION_COOKIE_VALUE", "json")]).await;
    for value in [
        r#"j:{"org":"acme"}"#,
        r#"j:{"sub":""}"#,
        r#"j:{"sub":42}"#,
        r#"j:["alice"]"#,
        "j:{broken",
    ] {
        let cookie = app.cookie(value);
        app.expect_unauthenticated(&cookie).await;
    }
}

#[tokio::test]
async fn the_first_cookie_of_a_name_counts_as_in_express() {
    let app = spawn_app().await;
    let both = format!("{}; {}", app.cookie("alice"), app.cookie("mallory"));
    let (_, claims) = expect_token(app.post_token(Some(&both)).await).await;
    assert_eq!(claims.sub, "alice");
    // A bad first cookie is not rescued by a good second one.
    let bad_first = format!("session=s%3Ax.bad; {}", app.cookie("alice"));
    app.expect_unauthenticated(&bad_first).await;
}

#[tokio::test]
async fn raw_unencoded_cookie_is_accepted() {
    // Some clients send the value without percent-encoding.
    let app = spawn_app().await;
    let cookie = format!("session={}", app.signer.sign("dave"));
    let (_, claims) = expect_token(app.post_token(Some(&cookie)).await).await;
    assert_eq!(claims.sub, "dave");
}

#[tokio::test]
async fn a_plain_id_that_looks_like_json_never_becomes_another_subject() {
    // An app that signs user-chosen ids must not let an id smuggle JSON.
    let app = spawn_app_with(&[("REALTIME_ROLE_ROOMS", "admin=*")]).await;
    let smuggled = app.cookie(r#"j:{"sub":"victim","roles":["admin"]}"#);
    app.expect_unauthenticated(&smuggled).await;
    // Plain ids keep working, and JSON cookies only when asked for.
    let (_, claims) = expect_token(app.post_token(Some(&app.cookie("alice"))).await).await;
    assert_eq!(claims.sub, "alice");
    let json = spawn_app_with(&[("SESSION_COOKIE_VALUE", "json")]).await;
    let (_, claims) = expect_token(
        json.post_token(Some(&json.cookie(r#"j:{"sub":"carol"}"#)))
            .await,
    )
    .await;
    assert_eq!(claims.sub, "carol");
    // In JSON mode a plain value is not a session.
    json.expect_unauthenticated(&json.cookie("alice")).await;
}

#[test]
fn the_cookie_value_setting_is_validated() {
    let errors = config_with(&[("SESSION_COOKIE_VALUE", "yaml")]).unwrap_err();
    assert!(errors.mentions("SESSION_COOKIE_VALUE"), "{errors}");
}

#[tokio::test]
async fn a_host_prefixed_cookie_name_works_and_a_shadow_without_it_is_ignored() {
    // The docs recommend `__Host-` names: a sibling subdomain cannot set
    // one, and a same-named cookie without the prefix is another cookie.
    let app = spawn_app_with(&[("SESSION_COOKIE", "__Host-session")]).await;
    let real = format!(
        "__Host-session={}",
        realtime_token::session::cookies::percent_encode(&app.signer.sign("alice"))
    );
    let shadow = format!("session={}", app.signer.sign("mallory"));
    let both = format!("{shadow}; {real}");
    let (_, claims) = expect_token(app.post_token(Some(&both)).await).await;
    assert_eq!(claims.sub, "alice");
}

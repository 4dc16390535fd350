//! `SESSION_BACKEND=cookie-session`: cookies written by Express with the
//! real cookie-session middleware (`tests/formats/cookie-session`).

use serde_json::{json, Value};

use crate::support::*;

const MODULES: &[&str] = &["express", "cookie-session"];

/// One Cookie header per case, written by cookie-session.
fn write(cases: Value) -> Vec<String> {
    cookies(&node_writer(
        "cookie-session",
        MODULES,
        &json!({ "cases": cases }),
    ))
}

async fn app(secrets: &str) -> TestApp {
    spawn_app_with(&[
        ("SESSION_BACKEND", "cookie-session"),
        ("SESSION_SECRET", secrets),
        ("SESSION_ATTRIBUTES", "org=/org"),
        ("REALTIME_ROOMS", "document-*,user-{sub},org-{org}:*"),
    ])
    .await
}

#[tokio::test]
async fn a_cookie_session_yields_its_user_and_attributes_and_forgeries_do_not() {
    let written = write(json!([
        {"keys": [SESSION_SECRET], "session": {"userId": "alice", "org": "acme"}},
        {"keys": ["another-app-secret-0123456789abcdef"], "session": {"userId": "alice"}},
        {"keys": [SESSION_SECRET], "session": {"cart": 3}},
        {"keys": [SESSION_SECRET], "name": "other", "session": {"userId": "alice"}},
    ]));
    let [good, other_secret, no_user, other_name] = written.as_slice() else {
        panic!("four cookies: {written:?}")
    };
    let app = app(SESSION_SECRET).await;

    // The value edited (another user, base64 of other JSON), the signature
    // cookie missing, or either cookie alone under another name: no token.
    let (value, sig) = good.split_once("; ").unwrap();
    let forged_value = format!(
        "session={}",
        realtime_token::session::codec::cookie_session::CookieSession::encode(
            &json!({"userId": "mallory", "org": "acme"})
        )
    );
    let refused = vec![
        format!("{forged_value}; {sig}"),
        value.to_owned(),
        sig.to_owned(),
        other_secret.clone(),
        other_name.clone(),
    ];
    let cases = Cases {
        good,
        sub: "alice",
        rooms: &["org-acme:*"],
        refused,
        no_user: Some((no_user, "cart")),
    };
    accept_refuse(&app, cases).await;
}

#[tokio::test]
async fn rotated_keys_are_accepted_until_removed() {
    let written = write(json!([
        {"keys": [OLD_SESSION_SECRET], "session": {"userId": "bob"}},
    ]));
    let rotated = spawn_app_with(&[
        ("SESSION_BACKEND", "cookie-session"),
        (
            "SESSION_SECRET",
            &format!("{SESSION_SECRET},{OLD_SESSION_SECRET}"),
        ),
    ])
    .await;
    let (_, claims) = expect_token(rotated.post_token(Some(&written[0])).await).await;
    assert_eq!(claims.sub, "bob");
    app(SESSION_SECRET)
        .await
        .expect_unauthenticated(&written[0])
        .await;
}

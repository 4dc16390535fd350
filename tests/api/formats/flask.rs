//! `SESSION_BACKEND=flask`: session cookies written by a real Flask app that
//! logs users in with Flask-Login (`tests/formats/flask`).

use serde_json::{json, Value};

use crate::support::*;

/// One Cookie header per case, written by Flask.
fn write(cases: Value) -> Vec<String> {
    cookies(&python_writer("flask", &json!({ "cases": cases })))
}

async fn flask_app(extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![
        ("SESSION_BACKEND", "flask"),
        ("SESSION_ATTRIBUTES", "org=/org,team=/teams/0"),
        (
            "REALTIME_ROOMS",
            "document-*,user-{sub},org-{org}:*,team-{team}",
        ),
    ];
    env.extend_from_slice(extra);
    spawn_app_with(&env).await
}

/// The value of a `session=<value>` header with one character of its
/// `part` (0 payload, 1 timestamp, 2 signature) changed.
fn tamper(cookie: &str, part: usize) -> String {
    let value = cookie.strip_prefix("session=").unwrap();
    let compressed = value.starts_with('.');
    let mut parts: Vec<String> = value
        .trim_start_matches('.')
        .split('.')
        .map(str::to_owned)
        .collect();
    let mut chars: Vec<char> = parts[part].chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    parts[part] = chars.into_iter().collect();
    let dot = if compressed { "." } else { "" };
    format!("session={dot}{}", parts.join("."))
}

#[tokio::test]
async fn a_flask_login_session_yields_its_user_and_attributes_and_forgeries_do_not() {
    let extra = json!({"org": {"$markup": "acme"}, "teams": {"$tuple": ["red"]}});
    let written = write(json!([
        {"secret": SESSION_SECRET, "user": "alice", "session": extra},
        {"secret": "another-app-secret-0123456789abcdef", "user": "alice"},
        {"secret": SESSION_SECRET, "session": {"cart": 3}},
        {"secret": SESSION_SECRET, "session": {"_user_id": "carol"}},
        {"secret": SESSION_SECRET, "user": "dave", "cookie": "other"},
    ]));
    let [good, other_secret, no_user, small, other_name] = written.as_slice() else {
        panic!("five cookies: {written:?}")
    };
    // Flask-Login's `_id` (a SHA-512 hex digest) makes Flask compress every
    // login; a tiny session stays plain.
    assert!(good.starts_with("session=."), "{good}");
    assert!(!small.starts_with("session=."), "{small}");
    let app = flask_app(&[]).await;

    let refused = vec![
        tamper(good, 0),
        tamper(good, 1),
        tamper(good, 2),
        tamper(small, 0),
        // The compressed payload read as plain, and the plain one as compressed.
        good.replacen("session=.", "session=", 1),
        small.replacen("session=", "session=.", 1),
        other_secret.clone(),
        other_name.clone(),
    ];
    let cases = Cases {
        good,
        sub: "alice",
        rooms: &["org-acme:*", "team-red"],
        refused,
        no_user: Some((no_user, "cart")),
    };
    accept_refuse(&app, cases).await;
    let (_, claims) = expect_token(app.post_token(Some(small)).await).await;
    assert_eq!(claims.sub, "carol");

    let renamed = flask_app(&[("SESSION_COOKIE", "other")]).await;
    let (_, claims) = expect_token(renamed.post_token(Some(other_name)).await).await;
    assert_eq!(claims.sub, "dave");
}

#[tokio::test]
async fn old_secrets_are_accepted_until_removed() {
    let new_and_old = format!("{SESSION_SECRET},{OLD_SESSION_SECRET}");
    let written = write(json!([
        {"secret": OLD_SESSION_SECRET, "user": "bob"},
        // Flask signs with SECRET_KEY and only verifies with the fallbacks.
        {"secret": SESSION_SECRET, "fallbacks": [OLD_SESSION_SECRET], "user": "erin"},
    ]));
    let rotated = flask_app(&[("SESSION_SECRET", &new_and_old)]).await;
    let (_, claims) = expect_token(rotated.post_token(Some(&written[0])).await).await;
    assert_eq!(claims.sub, "bob");
    let (_, claims) = expect_token(rotated.post_token(Some(&written[1])).await).await;
    assert_eq!(claims.sub, "erin");

    let new_only = flask_app(&[]).await;
    new_only.expect_unauthenticated(&written[0]).await;
    let (_, claims) = expect_token(new_only.post_token(Some(&written[1])).await).await;
    assert_eq!(claims.sub, "erin");
}

#[tokio::test]
async fn sessions_signed_longer_ago_than_session_max_age_are_expired() {
    let written = write(json!([
        {"secret": SESSION_SECRET, "user": "frank", "age": 120},
        {"secret": SESSION_SECRET, "user": "frank", "age": 31 * 86_400 + 60},
    ]));
    let [two_minutes, past_default] = written.as_slice() else {
        panic!("two cookies: {written:?}")
    };
    flask_app(&[("SESSION_MAX_AGE", "60s")])
        .await
        .expect_unauthenticated(two_minutes)
        .await;
    let default = flask_app(&[]).await;
    let (_, claims) = expect_token(default.post_token(Some(two_minutes)).await).await;
    assert_eq!(claims.sub, "frank");
    default.expect_unauthenticated(past_default).await;
}

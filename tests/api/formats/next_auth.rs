//! `SESSION_BACKEND=next-auth`: NextAuth.js v4 session cookies written by
//! the real `next-auth@4` (its `encode` and its own cookie chunking,
//! `tests/formats/authjs`).

use serde_json::json;

use super::authjs::{tampered, write};
use crate::support::*;

async fn app(secrets: &str) -> TestApp {
    spawn_app_with(&[
        ("SESSION_BACKEND", "next-auth"),
        ("SESSION_SECRET", secrets),
        ("SESSION_ATTRIBUTES", "org=/org"),
        ("REALTIME_ROOMS", "document-*,user-{sub},org-{org}:*"),
    ])
    .await
}

#[tokio::test]
async fn a_next_auth_session_yields_its_user_and_attributes_and_forgeries_do_not() {
    let other = "another-app-secret-0123456789abcdef";
    let written = write(
        "next-auth",
        json!([
            {"secret": SESSION_SECRET, "token": {"sub": "alice", "org": "acme", "email": "a@example.com"}},
            {"secret": other, "token": {"sub": "alice", "org": "acme"}},
            {"secret": SESSION_SECRET, "token": {"name": "no user id"}},
            {"secret": SESSION_SECRET, "token": {"sub": "alice"}, "maxAge": -60},
        ]),
    );
    let [good, other_secret, no_sub, expired] = written.as_slice() else {
        panic!("four cookies: {written:?}")
    };
    let v5 = write(
        "authjs",
        json!([{"secret": SESSION_SECRET, "token": {"sub": "alice"}}]),
    );
    let app = app(SESSION_SECRET).await;

    // An Auth.js v5 token under the v4 name is not a v4 session.
    let v5_renamed = v5[0].replacen("authjs.", "next-auth.", 1);
    let forged = [other_secret.clone(), expired.clone(), v5_renamed];
    let cases = Cases {
        good,
        sub: "alice",
        rooms: &["org-acme:*"],
        refused: tampered(good).into_iter().chain(forged).collect(),
        no_user: Some((no_sub, "no user id")),
    };
    accept_refuse(&app, cases).await;
    // v4's key does not depend on the cookie's name, so the v4 token under
    // the Auth.js v5 name fails there only because v5 salts with the name.
    let authjs = spawn_app_with(&[("SESSION_BACKEND", "authjs")]).await;
    authjs
        .expect_unauthenticated(&good.replacen("next-auth.", "authjs.", 1))
        .await;
}

#[tokio::test]
async fn secure_chunked_and_rotated_next_auth_cookies_are_read() {
    let written = write(
        "next-auth",
        json!([
            {"secret": SESSION_SECRET, "token": {"sub": "bob"}, "secure": true},
            {"secret": SESSION_SECRET, "token": {"sub": "carol"}, "pad": 6000},
            {"secret": OLD_SESSION_SECRET, "token": {"sub": "erin"}},
        ]),
    );
    let [secure, chunked, old] = written.as_slice() else {
        panic!("three cookies: {written:?}")
    };
    assert!(secure.starts_with("__Secure-next-auth.session-token="));
    assert!(
        chunked.contains("next-auth.session-token.2="),
        "{chunked:.80}"
    );
    let app = app(&format!("{SESSION_SECRET},{OLD_SESSION_SECRET}")).await;
    for (cookie, sub) in [(secure, "bob"), (chunked, "carol"), (old, "erin")] {
        let (_, claims) = expect_token(app.post_token(Some(cookie)).await).await;
        assert_eq!(claims.sub, sub);
    }
    let parts: Vec<&str> = chunked.split("; ").collect();
    app.expect_unauthenticated(&parts[1..].join("; ")).await;
    let newest_only = self::app(SESSION_SECRET).await;
    newest_only.expect_unauthenticated(old).await;
}

#[tokio::test]
async fn nextauth_secret_is_read_when_session_secret_is_unset() {
    let secret = "q8mYw0J3vS9bH2kZt6Lx1NcR4pF7uEaD5gIoW0sVjXk=";
    let written = write(
        "next-auth",
        json!([{"secret": secret, "token": {"sub": "frank"}}]),
    );
    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "next-auth"),
        ("SESSION_SECRET", ""),
        ("NEXTAUTH_SECRET", secret),
    ])
    .await;
    let (_, claims) = expect_token(app.post_token(Some(&written[0])).await).await;
    assert_eq!(claims.sub, "frank");
}

#[tokio::test]
async fn a_plain_name_cookie_never_shadows_the_secure_one() {
    // Mallory's own valid v4 token opens under either name (v4's key has no
    // salt), and the plain name can be planted without `Secure`.
    super::authjs::a_plain_name_cookie_never_shadows_the_secure_one_of("next-auth").await;
}

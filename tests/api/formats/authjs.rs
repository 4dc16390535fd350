//! `SESSION_BACKEND=authjs`: Auth.js v5 session cookies written by the real
//! `@auth/core` (its `encode` and its own cookie chunking,
//! `tests/formats/authjs`).

use serde_json::{json, Value};

use crate::support::*;

pub const MODULES: &[&str] = &["@auth/core", "next-auth"];

/// One Cookie header per case, written by `format`'s library.
pub fn write(format: &str, cases: Value) -> Vec<String> {
    let cases: Vec<Value> = cases
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c["format"] = json!(format);
            c
        })
        .collect();
    cookies(&node_writer("authjs", MODULES, &json!({ "cases": cases })))
}

/// `cookie` with the first character of the JWE's IV, ciphertext or tag
/// changed, one cookie each.
pub fn tampered(cookie: &str) -> Vec<String> {
    let (name, token) = cookie.split_once('=').unwrap();
    (2..5)
        .map(|part| {
            let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            let swapped = if parts[part].starts_with('A') {
                "B"
            } else {
                "A"
            };
            parts[part].replace_range(0..1, swapped);
            format!("{name}={}", parts.join("."))
        })
        .collect()
}

async fn app(backend: &str, secrets: &str) -> TestApp {
    spawn_app_with(&[
        ("SESSION_BACKEND", backend),
        ("SESSION_SECRET", secrets),
        ("SESSION_ATTRIBUTES", "org=/org"),
        ("REALTIME_ROOMS", "document-*,user-{sub},org-{org}:*"),
    ])
    .await
}

#[tokio::test]
async fn an_authjs_session_yields_its_user_and_attributes_and_forgeries_do_not() {
    let other = "another-app-secret-0123456789abcdef";
    let written = write(
        "authjs",
        json!([
            {"secret": SESSION_SECRET, "token": {"sub": "alice", "org": "acme", "name": "Alice"}},
            {"secret": other, "token": {"sub": "alice", "org": "acme"}},
            {"secret": SESSION_SECRET, "token": {"name": "no user id"}},
            {"secret": SESSION_SECRET, "token": {"sub": "alice"}, "maxAge": -60},
        ]),
    );
    let [good, other_secret, no_sub, expired] = written.as_slice() else {
        panic!("four cookies: {written:?}")
    };
    let app = app("authjs", SESSION_SECRET).await;

    // The salt is the cookie's name, so the token under the __Secure- name
    // does not open either.
    let renamed = format!("__Secure-{good}");
    let forged = [other_secret.clone(), expired.clone(), renamed];
    let cases = Cases {
        good,
        sub: "alice",
        rooms: &["org-acme:*"],
        refused: tampered(good).into_iter().chain(forged).collect(),
        no_user: Some((no_sub, "no user id")),
    };
    accept_refuse(&app, cases).await;
}

#[tokio::test]
async fn secure_and_chunked_authjs_cookies_are_read() {
    let written = write(
        "authjs",
        json!([
            {"secret": SESSION_SECRET, "token": {"sub": "bob"}, "secure": true},
            {"secret": SESSION_SECRET, "token": {"sub": "carol"}, "pad": 6000},
            {"secret": SESSION_SECRET, "token": {"sub": "dave"}, "pad": 6000, "secure": true},
        ]),
    );
    let [secure, chunked, secure_chunked] = written.as_slice() else {
        panic!("three cookies: {written:?}")
    };
    assert!(secure.starts_with("__Secure-authjs.session-token="));
    assert!(chunked.contains("authjs.session-token.2="), "{chunked:.80}");
    let app = app("authjs", SESSION_SECRET).await;
    for (cookie, sub) in [
        (secure, "bob"),
        (chunked, "carol"),
        (secure_chunked, "dave"),
    ] {
        let (_, claims) = expect_token(app.post_token(Some(cookie)).await).await;
        assert_eq!(claims.sub, sub);
    }
    // Chunks in another order are joined by index; a missing one is a 401.
    let parts: Vec<&str> = chunked.split("; ").collect();
    let reversed: Vec<&str> = parts.iter().rev().copied().collect();
    let (_, claims) = expect_token(app.post_token(Some(&reversed.join("; "))).await).await;
    assert_eq!(claims.sub, "carol");
    app.expect_unauthenticated(&[parts[0], parts[2]].join("; "))
        .await;
    app.expect_unauthenticated(&parts[..2].join("; ")).await;
}

#[tokio::test]
async fn rotated_authjs_secrets_are_accepted_until_removed() {
    let written = write(
        "authjs",
        json!([{"secret": OLD_SESSION_SECRET, "token": {"sub": "erin"}}]),
    );
    let rotated = app("authjs", &format!("{SESSION_SECRET},{OLD_SESSION_SECRET}")).await;
    let (_, claims) = expect_token(rotated.post_token(Some(&written[0])).await).await;
    assert_eq!(claims.sub, "erin");
    app("authjs", SESSION_SECRET)
        .await
        .expect_unauthenticated(&written[0])
        .await;
}

#[tokio::test]
async fn auth_secret_is_read_when_session_secret_is_unset() {
    // What `npx auth secret` / `openssl rand -base64 32` makes: 44 characters.
    let secret = "q8mYw0J3vS9bH2kZt6Lx1NcR4pF7uEaD5gIoW0sVjXk=";
    let written = write(
        "authjs",
        json!([{"secret": secret, "token": {"sub": "frank"}}]),
    );
    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "authjs"),
        ("SESSION_SECRET", ""),
        ("AUTH_SECRET", secret),
    ])
    .await;
    let (_, claims) = expect_token(app.post_token(Some(&written[0])).await).await;
    assert_eq!(claims.sub, "frank");
}

/// A victim's `__Secure-` cookie and mallory's own valid plain-name cookie
/// of `format` (`authjs` or `next-auth`), written by the real library: the
/// `__Secure-` one alone is read, in either order, even when it fails.
pub async fn a_plain_name_cookie_never_shadows_the_secure_one_of(format: &str) {
    let written = write(
        format,
        json!([
            {"secret": SESSION_SECRET, "token": {"sub": "victim"}, "secure": true},
            {"secret": SESSION_SECRET, "token": {"sub": "mallory"}},
            {"secret": SESSION_SECRET, "token": {"sub": "victim"}, "secure": true, "maxAge": -60},
        ]),
    );
    let [victim, mallory, expired] = written.as_slice() else {
        panic!("three cookies: {written:?}")
    };
    assert!(victim.starts_with("__Secure-"), "{victim:.40}");
    let app = app(format, SESSION_SECRET).await;
    for header in [
        format!("{victim}; {mallory}"),
        format!("{mallory}; {victim}"),
    ] {
        let (_, claims) = expect_token(app.post_token(Some(&header)).await).await;
        assert_eq!(claims.sub, "victim", "{format}: {header:.60}");
    }
    for header in [
        format!("{mallory}; {expired}"),
        format!("{expired}; {mallory}"),
    ] {
        app.expect_unauthenticated(&header).await;
    }
    let (_, claims) = expect_token(app.post_token(Some(mallory)).await).await;
    assert_eq!(claims.sub, "mallory", "{format}");
}

#[tokio::test]
async fn a_plain_name_cookie_never_shadows_the_secure_one() {
    a_plain_name_cookie_never_shadows_the_secure_one_of("authjs").await;
}

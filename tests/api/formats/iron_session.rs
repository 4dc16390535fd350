//! `SESSION_BACKEND=iron-session`: cookies written by the real iron-session
//! v8 (`getIronSession(..).save()` in `tests/formats/iron-session`).

use serde_json::{json, Value};

use crate::support::*;

const MODULES: &[&str] = &["iron-session", "iron-webcrypto"];

/// iron-session has no default cookie name; the app names one.
const COOKIE: &str = "app_session";

/// One Cookie header per case, written by iron-session.
fn write(cases: Value) -> Vec<String> {
    cookies(&node_writer(
        "iron-session",
        MODULES,
        &json!({ "cases": cases }),
    ))
}

async fn app(secrets: &str) -> TestApp {
    spawn_app_with(&[
        ("SESSION_BACKEND", "iron-session"),
        ("SESSION_COOKIE", COOKIE),
        ("SESSION_SECRET", secrets),
        ("SESSION_ATTRIBUTES", "org=/org"),
        ("REALTIME_ROOMS", "document-*,user-{sub},org-{org}:*"),
    ])
    .await
}

/// `cookie` with its seal's `*`-separated part `index` replaced by `part`.
fn with_part(cookie: &str, index: usize, part: &str) -> String {
    let (name, value) = cookie.split_once('=').unwrap();
    let (seal, version) = value.split_once('~').unwrap();
    let mut parts: Vec<&str> = seal.split('*').collect();
    parts[index] = part;
    format!("{name}={}~{version}", parts.join("*"))
}

#[tokio::test]
async fn an_iron_session_yields_its_user_and_attributes_and_forgeries_do_not() {
    let written = write(json!([
        {"password": SESSION_SECRET, "session": {"userId": "alice", "org": "acme"}},
        {"password": "another-app-password-0123456789abcdef", "session": {"userId": "alice"}},
        {"password": SESSION_SECRET, "session": {"cart": 3}},
        {"password": SESSION_SECRET, "cookieName": "other", "session": {"userId": "alice"}},
        {"password": SESSION_SECRET, "session": {"userId": "mallory", "org": "acme"}},
    ]));
    let [good, other_password, no_user, other_name, mallory] = written.as_slice() else {
        panic!("five cookies: {written:?}")
    };
    assert!(good.starts_with("app_session=Fe26.2*1*") && good.ends_with("~2"));
    let app = app(SESSION_SECRET).await;

    // Parts of another genuine seal (ciphertext, or ciphertext and iv),
    // a flipped character, a later expiry, another password id, the
    // version suffix gone: each breaks the HMAC or the format.
    let seal_of = |c: &str| c.split_once('=').unwrap().1.to_owned();
    let theirs: Vec<String> = seal_of(mallory).split('*').map(str::to_owned).collect();
    let ours: Vec<String> = seal_of(good).split('*').map(str::to_owned).collect();
    let mut flipped = ours[4].clone();
    let last = if flipped.ends_with('A') { "B" } else { "A" };
    flipped.replace_range(flipped.len() - 1.., last);
    let later = (ours[5].parse::<u64>().unwrap() + 86_400_000).to_string();
    let refused = vec![
        with_part(good, 4, &theirs[4]),
        with_part(&with_part(good, 4, &theirs[4]), 3, &theirs[3]),
        with_part(good, 4, &flipped),
        with_part(good, 5, &later),
        with_part(good, 5, ""),
        with_part(good, 1, "2"),
        with_part(good, 7, &theirs[7]),
        good.trim_end_matches("~2").to_owned(),
        other_password.clone(),
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
async fn password_ids_rotate_as_in_iron_session() {
    let written = write(json!([
        {"password": {"1": OLD_SESSION_SECRET}, "session": {"userId": "bob"}},
        {"password": {"1": OLD_SESSION_SECRET, "2": SESSION_SECRET}, "session": {"userId": "carol"}},
        {"password": {"3": SESSION_SECRET}, "session": {"userId": "dave"}},
    ]));
    let [old, new, unknown_id] = written.as_slice() else {
        panic!("three cookies: {written:?}")
    };
    assert!(new.starts_with("app_session=Fe26.2*2*"), "{new}");
    let rotated = app(&format!("2={SESSION_SECRET},1={OLD_SESSION_SECRET}")).await;
    for (cookie, user) in [(old, "bob"), (new, "carol")] {
        let (_, claims) = expect_token(rotated.post_token(Some(cookie)).await).await;
        assert_eq!(claims.sub, user);
    }
    // Id 3 is not configured although its password is.
    rotated.expect_unauthenticated(unknown_id).await;
    // The old password removed: its seals are refused.
    let after = app(&format!("2={SESSION_SECRET}")).await;
    after.expect_unauthenticated(old).await;
    expect_token(after.post_token(Some(new)).await).await;
}

#[tokio::test]
async fn a_seal_expires_60_seconds_after_its_ttl_as_in_iron() {
    // iron-session passes a negative ttl through: the seal's expiry is then
    // that far in the past. iron accepts a seal until 60 s after it.
    let written = write(json!([
        {"password": SESSION_SECRET, "ttl": -90, "session": {"userId": "erin"}},
        {"password": SESSION_SECRET, "ttl": -30, "session": {"userId": "erin"}},
        {"password": SESSION_SECRET, "ttl": 0, "session": {"userId": "frank"}},
    ]));
    let [expired, within_skew, no_expiry] = written.as_slice() else {
        panic!("three cookies: {written:?}")
    };
    let app = app(SESSION_SECRET).await;
    app.expect_unauthenticated(expired).await;
    expect_token(app.post_token(Some(within_skew)).await).await;
    // ttl 0 is iron-session's "never expires": the seal has no expiry.
    assert!(no_expiry.contains("**"), "{no_expiry}");
    let (_, claims) = expect_token(app.post_token(Some(no_expiry)).await).await;
    assert_eq!(claims.sub, "frank");
}

fn refused(secrets: &str) -> String {
    let errors = config_with(&[
        ("SESSION_BACKEND", "iron-session"),
        ("SESSION_COOKIE", COOKIE),
        ("SESSION_SECRET", secrets),
    ])
    .expect_err("config must be refused");
    assert!(errors.mentions("SESSION_SECRET"), "{errors}");
    errors.to_string()
}

#[test]
fn passwords_under_32_characters_or_ids_given_twice_are_refused_at_start_up() {
    // 31 characters: the whole entry passes the common 32-byte check, the
    // password does not pass iron-session's.
    let short = "2=session-secret-0123456789abcdef";
    let msg = refused(short);
    assert!(msg.contains("under 32 characters"), "{msg}");
    assert!(!msg.contains("0123456789abcdef"), "echoed: {msg}");
    let msg = refused(&format!("{SESSION_SECRET},1={OLD_SESSION_SECRET}"));
    assert!(msg.contains("id 1"), "{msg}");
    // No default cookie name.
    let errors = config_with(&[("SESSION_BACKEND", "iron-session")]).unwrap_err();
    assert!(errors.mentions("SESSION_COOKIE"), "{errors}");
    assert!(config_with(&[
        ("SESSION_BACKEND", "iron-session"),
        ("SESSION_COOKIE", COOKIE),
        (
            "SESSION_SECRET",
            &format!("2={SESSION_SECRET},1={OLD_SESSION_SECRET}")
        ),
    ])
    .is_ok());
}

//! `SESSION_BACKEND=supabase`: session cookies written by the real
//! `@supabase/ssr` `createServerClient` (`tests/formats/supabase`) after a
//! `signInWithPassword`. The auth server it signs in against is stubbed in
//! the writer (jose signs the access tokens as GoTrue would, with this
//! test's secret or keys); the cookie's name, encoding and chunks are the
//! real library's.

use base64::Engine as _;
use serde_json::{json, Value};

use super::jwt_cookie::jwks;
use crate::support::upstream::{Answer, Upstream};
use crate::support::*;

const MODULES: &[&str] = &["@supabase/ssr", "@supabase/supabase-js", "jose"];
const URL: &str = "https://abcdefghijklmnopqrst.supabase.co";
const COOKIE: &str = "sb-abcdefghijklmnopqrst-auth-token";
// The Supabase CLI's local default JWT secret.
const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

struct Written {
    /// One Cookie header per case.
    cookies: Vec<String>,
    /// The cookie names the library set, per case.
    names: Vec<Vec<String>>,
    /// The generated keys' public JWKs.
    keys: Value,
}

fn write(url: &str, keys: Value, cases: Value) -> Written {
    let answer = node_writer(
        "supabase",
        MODULES,
        &json!({ "url": url, "keys": keys, "cases": cases }),
    );
    let names = serde_json::from_value(answer["names"].clone()).expect("names");
    Written {
        cookies: cookies(&answer),
        names,
        keys: answer["keys"].clone(),
    }
}

fn env<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("SESSION_BACKEND", "supabase"),
        ("SUPABASE_URL", URL),
        ("SESSION_SECRET", ""),
        ("SESSION_ATTRIBUTES", "role=/role"),
        ("REALTIME_ROOMS", "user-{sub},role-{role}"),
    ];
    env.extend_from_slice(extra);
    env
}

async fn expect_user(app: &TestApp, cookie: &str, sub: &str) {
    let (_, claims) = expect_token(app.post_token(Some(cookie)).await).await;
    assert_eq!(claims.sub, sub);
    assert!(claims
        .permissions
        .rooms
        .contains(&"role-authenticated".to_owned()));
}

/// `cookie` (one unchunked `base64-` cookie) with the session JSON's
/// unsigned `user.id` changed to `id`.
fn with_user_id(cookie: &str, id: &str) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let value = cookie
        .strip_prefix(&format!("{COOKIE}=base64-"))
        .expect("one base64- cookie");
    let mut session: Value = serde_json::from_slice(&b64.decode(value).unwrap()).unwrap();
    session["user"]["id"] = json!(id);
    format!("{COOKIE}=base64-{}", b64.encode(session.to_string()))
}

#[tokio::test]
async fn hs256_sessions_small_chunked_and_raw() {
    let w = write(
        URL,
        json!({}),
        json!([
            {"secret": SECRET, "sub": "alice"},
            {"secret": SECRET, "sub": "bob", "metadataBytes": 3000},
            {"secret": SECRET, "sub": "carol", "encoding": "raw"},
            {"secret": SECRET, "sub": "alice", "tamper": "mallory"},
            {"secret": "another-projects-jwt-secret-0123456789abcdef", "sub": "alice"},
            {"secret": SECRET, "sub": "alice", "expiresIn": -3600},
        ]),
    );
    // The library named the cookie from the URL, and chunked bob's session.
    assert_eq!(w.names[0], [COOKIE]);
    assert!(w.names[1].len() > 1, "{:?}", w.names[1]);
    assert!(w.names[1]
        .iter()
        .enumerate()
        .all(|(i, n)| *n == format!("{COOKIE}.{i}")));
    assert!(w.cookies[0].starts_with(&format!("{COOKIE}=base64-")));
    assert!(w.cookies[2].starts_with(&format!("{COOKIE}=%7B")));

    // SESSION_COOKIE is derived from SUPABASE_URL.
    let app = spawn_app_with(&env(&[("SESSION_JWT_KEY", SECRET)])).await;
    // mallory's claims under alice's signature, another project's secret,
    // expired (the app's middleware must refresh it); a chunk lost, or
    // under another project's name.
    let chunks: Vec<&str> = w.cookies[1].split("; ").collect();
    let lost = [&chunks[..1], &chunks[2..]].concat().join("; ");
    let other = w.cookies[0].replace(COOKIE, "sb-otherproject-auth-token");
    let cases = Cases {
        good: &w.cookies[0],
        sub: "alice",
        rooms: &["role-authenticated"],
        refused: [&w.cookies[3..6], &[lost, other]].concat(),
        no_user: None,
    };
    accept_refuse(&app, cases).await;
    expect_user(&app, &w.cookies[1], "bob").await;
    expect_user(&app, &w.cookies[2], "carol").await;
    // Only the signed access token counts, not the cookie's `user`.
    expect_user(&app, &with_user_id(&w.cookies[0], "mallory"), "alice").await;
}

#[tokio::test]
async fn es256_and_rs256_with_a_jwks_file() {
    let w = write(
        URL,
        json!({"ec": "ES256", "rsa": "RS256", "stranger": "ES256"}),
        json!([
            {"key": "ec", "kid": "ec-1", "sub": "alice", "metadataBytes": 3000},
            {"key": "rsa", "kid": "rsa-1", "sub": "bob"},
            {"key": "stranger", "kid": "ec-1", "sub": "mallory"},
            {"secret": SECRET, "sub": "alice"},
            {"key": "ec", "kid": "ec-1", "sub": "alice", "expiresIn": -3600},
        ]),
    );
    let dir = scratch_dir().join(format!("supabase-jwks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jwks.json");
    let set = jwks(&w.keys, &[("ec", "ec-1"), ("rsa", "rsa-1")]);
    std::fs::write(&file, set.to_string()).unwrap();
    let app = spawn_app_with(&env(&[("SESSION_JWKS_FILE", file.to_str().unwrap())])).await;
    expect_user(&app, &w.cookies[0], "alice").await;
    expect_user(&app, &w.cookies[1], "bob").await;
    // Another key under a published kid; HS256 when keys are asymmetric;
    // expired.
    for cookie in &w.cookies[2..5] {
        app.expect_unauthenticated(cookie).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn supabase_url_alone_fetches_the_projects_jwks() {
    let server = Upstream::start(Answer::Status(404)).await;
    let api_me = server.url();
    let url = api_me.trim_end_matches("/api/me");
    let w = write(
        url,
        json!({"ec": "ES256"}),
        json!([{"key": "ec", "kid": "k1", "sub": "alice"}]),
    );
    assert_eq!(w.names[0], ["sb-127-auth-token"]);
    server.set(Answer::Json(jwks(&w.keys, &[("ec", "k1")])));
    let app = spawn_app_with(&env(&[("SUPABASE_URL", url)])).await;
    expect_user(&app, &w.cookies[0], "alice").await;
    let seen = server.seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert!(seen
        .iter()
        .all(|(uri, _)| uri == "/auth/v1/.well-known/jwks.json"));
}

#[test]
fn settings_are_checked_at_start_up() {
    let errors = |extra: &[(&str, &str)]| {
        config_with(&env(extra))
            .err()
            .unwrap_or_else(|| panic!("{extra:?} was accepted"))
    };
    // No URL and no cookie name; a URL that is not one; no key.
    let no_url = errors(&[("SUPABASE_URL", ""), ("SESSION_JWT_KEY", SECRET)]);
    assert!(no_url.mentions("SESSION_COOKIE"), "{no_url}");
    assert!(errors(&[
        ("SUPABASE_URL", "abcd.supabase.co"),
        ("SESSION_JWT_KEY", SECRET)
    ])
    .mentions("SUPABASE_URL"));
    let no_key = errors(&[("SUPABASE_URL", ""), ("SESSION_COOKIE", COOKIE)]);
    assert!(no_key.mentions("SESSION_JWT_KEY"), "{no_key}");
    // A short secret; HS256 with a JWKS.
    assert!(errors(&[("SESSION_JWT_KEY", "short")]).mentions("SESSION_JWT_KEY"));
    assert!(errors(&[("SESSION_JWT_ALGORITHMS", "HS256")]).mentions("SESSION_JWT_ALGORITHMS"));
    // SESSION_COOKIE overrides the derived name (cookieOptions.name).
    let config = config_with(&env(&[
        ("SESSION_COOKIE", "my-auth"),
        ("SESSION_JWT_KEY", SECRET),
    ]))
    .unwrap();
    assert_eq!(config.session.cookie_name, "my-auth");
    let config = config_with(&env(&[("SESSION_JWT_KEY", SECRET)])).unwrap();
    assert_eq!(config.session.cookie_name, COOKIE);
}

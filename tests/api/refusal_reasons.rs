//! Every 401 says why, without a secret: a reason code in the access log
//! and in `realtime_token_unauthenticated_total{reason}`, and the likely
//! fix in the debug log. The cookies come from the real libraries where a
//! format is involved (`@auth/core`, `next-auth@4`).

use serde_json::json;

use realtime_token::session::{codec::CookieSigner, cookies::percent_encode};

use crate::formats::authjs;
use crate::support::*;

/// The 401s `app` answered for `reason`, from `/metrics`.
async fn refused_for(app: &TestApp, reason: &str) -> u64 {
    let metrics = app.metrics().await;
    let line = format!("realtime_token_unauthenticated_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&line))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// POSTs `cookie` and checks it is a 401 counted under `reason`.
async fn expect_reason(app: &TestApp, cookie: Option<&str>, reason: &str) {
    let before = refused_for(app, reason).await;
    expect_error(app.post_token(cookie).await, 401, "unauthenticated").await;
    assert_eq!(
        refused_for(app, reason).await,
        before + 1,
        "{reason}: {cookie:?}"
    );
}

#[tokio::test]
async fn each_refusal_is_counted_under_its_reason() {
    let written = authjs::write(
        "authjs",
        json!([
            {"secret": SESSION_SECRET, "token": {"sub": "alice"}, "maxAge": -60},
            {"secret": SESSION_SECRET, "token": {"name": "no user id"}},
            {"secret": "another-app-secret-0123456789abcdef", "token": {"sub": "alice"}},
            {"secret": SESSION_SECRET, "token": {"sub": "alice"}},
        ]),
    );
    let [expired, no_sub, other_secret, good] = written.as_slice() else {
        panic!("four cookies: {written:?}")
    };
    let authjs_app = spawn_app_with(&[("SESSION_BACKEND", "authjs")]).await;
    expect_reason(&authjs_app, None, "no_cookie").await;
    expect_reason(&authjs_app, Some(expired), "expired").await;
    expect_reason(&authjs_app, Some(no_sub), "no_subject").await;
    expect_reason(&authjs_app, Some(other_secret), "bad_signature").await;
    // An Auth.js v5 cookie under NextAuth v4's name: the wrong format.
    let next_auth = spawn_app_with(&[("SESSION_BACKEND", "next-auth")]).await;
    let v5_renamed = good.replacen("authjs.", "next-auth.", 1);
    expect_reason(&next_auth, Some(&v5_renamed), "malformed").await;
    // The Auth.js cookie where the service expects express-session's.
    let signed = spawn_app_with(&[]).await;
    expect_reason(&signed, Some(good), "wrong_cookie_name").await;
    let forged = CookieSigner::new(["not-the-secret"]).sign("alice");
    let forged = format!("session={}", percent_encode(&forged));
    expect_reason(&signed, Some(&forged), "bad_signature").await;

    // A well-signed id that names no stored session.
    let prefix = format!("{}:", unique("reasons"));
    let redis = redis_url();
    let store = spawn_app_with(&[
        ("SESSION_BACKEND", "redis"),
        ("REDIS_URL", redis.as_str()),
        ("SESSION_REDIS_PREFIX", prefix.as_str()),
    ])
    .await;
    expect_reason(&store, Some(&express_cookie("sid-none")), "unknown_session").await;
}

#[tokio::test]
async fn the_access_log_names_the_reason_and_the_debug_log_the_fix() {
    let server = tokio::task::spawn_blocking(|| {
        ServerProcess::start(&[("RUST_LOG", "info,realtime_token=debug")])
    })
    .await
    .unwrap();
    let forged = CookieSigner::new(["not-the-secret"]).sign("alice");
    let res = reqwest::Client::new()
        .post(server.url("/api/realtime-token"))
        .header("Cookie", format!("session={}", percent_encode(&forged)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    eventually(
        "the access log line with reason=bad_signature",
        async || server.log_text().contains("reason=bad_signature"),
    )
    .await;
    let log = server.log_text();
    assert!(
        log.contains("error=unauthenticated reason=bad_signature"),
        "{log}"
    );
    assert!(log.contains("unauthenticated (bad_signature)"), "{log}");
    assert!(log.contains("check that SESSION_SECRET"), "{log}");
    assert!(!log.contains(SESSION_SECRET), "{log}");
}

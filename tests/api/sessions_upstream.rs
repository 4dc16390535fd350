//! The `upstream` backend against a real HTTP server started in the test.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;

use crate::support::upstream::{Answer, Upstream};
use crate::support::*;

async fn app_for(upstream: &Upstream, extra: &[(&str, &str)]) -> TestApp {
    let url = upstream.url();
    let mut env = vec![
        ("SESSION_BACKEND", "upstream"),
        ("SESSION_UPSTREAM_URL", url.as_str()),
        ("SESSION_LOOKUP_TIMEOUT", "300ms"),
        ("SESSION_CACHE_TTL", "off"),
    ];
    env.extend_from_slice(extra);
    spawn_app_with(&env).await
}

#[tokio::test]
async fn a_2xx_with_a_subject_yields_a_token_and_only_the_cookie_is_forwarded() {
    let upstream = Upstream::start(Answer::Json(json!({"id": "u-1", "org": "acme"}))).await;
    let app = app_for(
        &upstream,
        &[
            ("SESSION_ATTRIBUTES", "org=/org"),
            ("REALTIME_ROOMS", "user-{sub},org-{org}-*"),
        ],
    )
    .await;
    let res = app
        .client
        .post(app.url("/api/realtime-token?next=/secret"))
        .header("Cookie", "app_session=abc; theme=dark")
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .header("X-Private", "do-not-forward")
        .send()
        .await
        .unwrap();
    let (_, claims) = expect_token(res).await;
    assert_eq!(claims.sub, "u-1");
    assert_eq!(claims.permissions.rooms, ["user-u-1", "org-acme-*"]);

    let seen = upstream.seen.lock().unwrap().clone();
    let (uri, headers) = &seen[0];
    assert_eq!(uri, "/api/me", "path and query are fixed");
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        get("cookie").as_deref(),
        Some("app_session=abc; theme=dark")
    );
    assert_eq!(get("authorization"), None);
    assert_eq!(get("x-private"), None);
}

#[tokio::test]
async fn configured_headers_are_forwarded_too() {
    let upstream = Upstream::start(Answer::Json(json!({"id": "u-2"}))).await;
    let app = app_for(
        &upstream,
        &[("SESSION_UPSTREAM_HEADERS", "X-Session-Token")],
    )
    .await;
    let res = app
        .client
        .post(app.url("/api/realtime-token"))
        .header("X-Session-Token", "tok-1")
        .send()
        .await
        .unwrap();
    expect_token(res).await;
    let seen = upstream.seen.lock().unwrap().clone();
    assert!(seen[0]
        .1
        .iter()
        .any(|(k, v)| k == "x-session-token" && v == "tok-1"));
}

#[tokio::test]
async fn upstream_answers_map_to_401_or_503_and_never_a_token() {
    let upstream = Upstream::start(Answer::Status(401)).await;
    let app = app_for(&upstream, &[]).await;
    let cookie = "app_session=abc";
    let cases = [
        (Answer::Status(401), 401, "unauthenticated"),
        (Answer::Status(403), 401, "unauthenticated"),
        (Answer::Status(500), 503, "session_backend_unavailable"),
        (Answer::Status(502), 503, "session_backend_unavailable"),
        (Answer::Status(429), 503, "session_backend_unavailable"),
        (Answer::Status(404), 503, "session_backend_unavailable"),
        (Answer::Garbage, 503, "session_backend_unavailable"),
        (
            Answer::Json(json!({"name": "no id here"})),
            503,
            "session_backend_unavailable",
        ),
        (
            Answer::Json(json!({"id": ""})),
            503,
            "session_backend_unavailable",
        ),
        (Answer::Redirect, 503, "session_backend_unavailable"),
        (Answer::Hang, 503, "session_backend_unavailable"),
    ];
    for (answer, status, code) in cases {
        upstream.set(answer);
        expect_error(app.post_token(Some(cookie)).await, status, code).await;
    }
    // And it recovers by itself.
    upstream.set(Answer::Json(json!({"id": "u-3"})));
    expect_token(app.post_token(Some(cookie)).await).await;
}

#[tokio::test]
async fn no_cookie_is_401_without_asking_the_upstream() {
    let upstream = Upstream::start(Answer::Json(json!({"id": "u-4"}))).await;
    let app = app_for(&upstream, &[]).await;
    expect_error(app.post_token(None).await, 401, "unauthenticated").await;
    assert_eq!(upstream.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_unreachable_upstream_is_503_and_readyz_says_so() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/api/me",
        closed.local_addr().unwrap().port()
    );
    drop(closed);
    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "upstream"),
        ("SESSION_UPSTREAM_URL", &url),
    ])
    .await;
    expect_error(
        app.post_token(Some("app_session=abc")).await,
        503,
        "session_backend_unavailable",
    )
    .await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    expect_error(ready, 503, "session_backend_unavailable").await;
}

#[tokio::test]
async fn with_the_cache_a_burst_for_one_session_makes_one_lookup() {
    let upstream = Upstream::start(Answer::Slow(
        json!({"id": "u-5"}),
        Duration::from_millis(200),
    ))
    .await;
    let app = app_for(
        &upstream,
        &[
            ("SESSION_CACHE_TTL", "5s"),
            ("SESSION_LOOKUP_TIMEOUT", "2s"),
            ("WORKERS", "2"),
        ],
    )
    .await;
    let burst = (0..24).map(|_| app.post_token(Some("app_session=burst")));
    for res in futures_util::future::join_all(burst).await {
        expect_token(res).await;
    }
    assert_eq!(upstream.hits.load(Ordering::SeqCst), 1);
    // Another session is looked up on its own.
    expect_token(app.post_token(Some("app_session=other")).await).await;
    assert_eq!(upstream.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn errors_are_never_cached() {
    let upstream = Upstream::start(Answer::Status(500)).await;
    let app = app_for(&upstream, &[("SESSION_CACHE_TTL", "30s")]).await;
    expect_error(
        app.post_token(Some("app_session=x")).await,
        503,
        "session_backend_unavailable",
    )
    .await;
    upstream.set(Answer::Json(json!({"id": "u-6"})));
    expect_token(app.post_token(Some("app_session=x")).await).await;
}

#[tokio::test]
async fn readyz_wants_a_401_without_a_session() {
    // An endpoint that answers 2xx without a session would fail every
    // lookup (no user) or log everyone in: not ready.
    let upstream = Upstream::start(Answer::Json(json!({}))).await;
    let app = app_for(&upstream, &[]).await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    expect_error(ready, 503, "session_backend_unavailable").await;
    for status in [302, 404, 500] {
        upstream.set(Answer::Status(status));
        let app = app_for(&upstream, &[]).await;
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        expect_error(ready, 503, "session_backend_unavailable").await;
    }
    upstream.set(Answer::Status(401));
    let app = app_for(&upstream, &[]).await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn a_readyz_flood_reaches_the_upstream_about_once_a_second() {
    let upstream = Upstream::start(Answer::Status(401)).await;
    let app = app_for(&upstream, &[]).await;
    let flood = (0..50).map(|_| app.client.get(app.url("/readyz")).send());
    for res in futures_util::future::join_all(flood).await {
        assert_eq!(res.unwrap().status(), 200);
    }
    let after_flood = upstream.hits.load(Ordering::SeqCst);
    assert!(
        after_flood <= 2,
        "{after_flood} upstream requests for 50 /readyz"
    );
    // Once the answer is older than a second, a new check is made.
    eventually("readiness to be checked again", async || {
        app.client.get(app.url("/readyz")).send().await.unwrap();
        upstream.hits.load(Ordering::SeqCst) > after_flood
    })
    .await;
}

#[tokio::test]
async fn named_session_cookies_key_the_cache_so_junk_cookies_neither_miss_nor_fill_it() {
    let upstream = Upstream::start(Answer::Json(json!({"id": "u-9"}))).await;
    let app = app_for(
        &upstream,
        &[
            ("SESSION_CACHE_TTL", "60s"),
            ("SESSION_UPSTREAM_COOKIES", "app_session"),
        ],
    )
    .await;
    for junk in ["a=1", "b=2; c=3", "_ga=GA1.2.3"] {
        let cookie = format!("{junk}; app_session=s-1");
        let (_, claims) = expect_token(app.post_token(Some(&cookie)).await).await;
        assert_eq!(claims.sub, "u-9");
    }
    assert_eq!(
        upstream.hits.load(Ordering::SeqCst),
        1,
        "one lookup for one session"
    );
    // The whole Cookie header is still forwarded.
    let seen = upstream.seen.lock().unwrap().clone();
    let cookie = seen[0].1.iter().find(|(k, _)| k == "cookie").unwrap();
    assert!(cookie.1.contains("a=1"), "{cookie:?}");
    // Only junk: not a session, and the upstream is not asked.
    app.expect_unauthenticated("a=1; b=2").await;
    assert_eq!(upstream.hits.load(Ordering::SeqCst), 1);
    let bad = config_with(&[
        ("SESSION_BACKEND", "upstream"),
        ("SESSION_UPSTREAM_URL", "http://127.0.0.1:1/me"),
        ("SESSION_UPSTREAM_COOKIES", "a;b"),
    ])
    .unwrap_err();
    assert!(bad.mentions("SESSION_UPSTREAM_COOKIES"), "{bad}");
}

#[tokio::test]
async fn one_client_address_holds_a_bounded_share_of_the_cache() {
    let upstream = Upstream::start(Answer::Json(json!({"id": "u-10"}))).await;
    let app = app_for(
        &upstream,
        &[
            ("SESSION_CACHE_TTL", "60s"),
            ("SESSION_CACHE_PER_CLIENT", "2"),
        ],
    )
    .await;
    let cookies: Vec<String> = (0..5).map(|i| format!("app_session=s-{i}")).collect();
    for _ in 0..2 {
        for cookie in &cookies {
            expect_token(app.post_token(Some(cookie)).await).await;
        }
    }
    // Two sessions were kept for this address; the other three were looked
    // up both times.
    assert_eq!(upstream.hits.load(Ordering::SeqCst), 5 + 3);
    let bad = config_with(&[("SESSION_CACHE_PER_CLIENT", "0")]).unwrap_err();
    assert!(bad.mentions("SESSION_CACHE_PER_CLIENT"), "{bad}");
}

//! End to end with a collaboration server nobody here wrote: Hocuspocus +
//! Yjs in headless Chromium (`tests/collab/driver.mjs`). An Express app logs
//! alice in (express-session + connect-redis, the `redis` backend), two
//! pages edit one document through Hocuspocus, whose `onAuthenticate`
//! verifies the service's token with jose and admits only documents the
//! token's rooms cover. The pages' `authToken` is `@realtime-token/client`
//! from its packed tarball, with `TOKEN_TTL=5s` and `refreshMargin` 2 s:
//! when the server drops the connections after the tokens expired, the
//! providers reconnect with fresh tokens and editing goes on. A document
//! outside the rooms is refused; after logout the next token request is a 401
//! and `onUnauthenticated` runs. Twice: the service on its own origin (CORS
//! with credentials), and behind nginx on the app's origin, which is not in
//! `ALLOWED_ORIGINS` (the `Sec-Fetch-Site: same-origin` path).

use std::path::Path;
use std::time::Duration;

use crate::support::*;

/// The driver bounds itself at 90 s; this is the backstop.
const DRIVER_TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test]
async fn two_browsers_edit_through_hocuspocus_with_tokens_the_client_renews() {
    for tool in ["/usr/bin/chromium", "/usr/sbin/nginx"] {
        assert!(
            Path::new(tool).exists(),
            "the collaboration test needs {tool} (scripts/test installs it with apt)"
        );
    }
    let prefix = format!("{}:", unique("collab"));
    let redis = redis_url();
    let env = vec![
        ("SESSION_SECRET", SESSION_SECRET.to_owned()),
        ("REDIS_URL", redis.clone()),
        ("SESSION_PREFIX", prefix.clone()),
        ("TEST_JWT_SECRET", JWT_SECRET.to_owned()),
        ("JWT_ISSUER", ISSUER.to_owned()),
        ("JWT_AUDIENCE", AUDIENCE.to_owned()),
    ];
    let dir = tokio::task::spawn_blocking(|| {
        node_project(
            "collab",
            &[
                "@hocuspocus/server",
                "@hocuspocus/provider",
                "playwright-core",
            ],
        )
    })
    .await
    .unwrap();
    let (driver, ports) = Driver::start(dir, env, DRIVER_TIMEOUT).await;
    let app_origin = format!("http://localhost:{}", ports["appPort"]);
    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "redis"),
        ("REDIS_URL", redis.as_str()),
        ("SESSION_REDIS_PREFIX", prefix.as_str()),
        ("TOKEN_TTL", "5s"),
        ("REALTIME_ROOMS", "document-*,user-{sub}"),
        ("ALLOWED_ORIGINS", app_origin.as_str()),
    ])
    .await;
    let service_port = app.base.rsplit(':').next().unwrap().to_owned();
    let (out, status, ctx) = driver.run(&service_port).await;
    eprintln!(
        "collab driver: {} ms; cross-origin {}; same-origin {}",
        out["elapsedMs"], out["crossOrigin"]["timings"], out["sameOrigin"]["timings"]
    );
    assert!(out["error"].is_null(), "{ctx}");
    for mode in ["crossOrigin", "sameOrigin"] {
        let r = &out[mode];
        assert_eq!(r["aToB"], true, "{mode}: {ctx}");
        assert_eq!(r["bToA"], true, "{mode}: {ctx}");
        assert!(r["firstAuths"].as_u64() >= Some(2), "{mode}: {ctx}");
        // Renewed with fresh tokens after the first ones expired, and the
        // pages never saw a failure.
        assert!(r["renewedAuths"].as_u64() >= Some(2), "{mode}: {ctx}");
        assert_eq!(r["renewedFailures"], serde_json::json!([]), "{mode}: {ctx}");
        assert_eq!(r["renewedWithNewTokens"], true, "{mode}: {ctx}");
        assert_eq!(r["afterRenewal"], true, "{mode}: {ctx}");
        assert_eq!(r["pageFailures"], serde_json::json!([]), "{mode}: {ctx}");
        for n in r["tokenRequests"].as_array().unwrap() {
            assert!(n.as_u64() >= Some(2), "{mode}: {ctx}");
        }
        assert_eq!(r["foreign"]["refusedByServer"], true, "{mode}: {ctx}");
        assert_eq!(r["foreign"]["subject"], "alice", "{mode}: {ctx}");
        assert_eq!(r["logout"]["logoutStatus"], 204, "{mode}: {ctx}");
        assert_eq!(r["logout"]["error"]["status"], 401, "{mode}: {ctx}");
        assert_eq!(
            r["logout"]["error"]["code"], "unauthenticated",
            "{mode}: {ctx}"
        );
        assert_eq!(r["logout"]["unauthenticatedCalls"], 1, "{mode}: {ctx}");
    }
    assert_eq!(out["ok"], true, "{ctx}");
    assert_eq!(status, Some(0), "{ctx}");
}

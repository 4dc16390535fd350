//! End to end in headless Chromium: a frontend on `http://localhost:<port>` logs
//! in (signed `session` cookie), fetches a token cross-origin with credentials
//! and verifies it in the page with jose; the docs' caching `authToken`
//! makes one request for two calls; pages on disallowed origins cannot get a
//! token; a browser without the cookie reads a 401. The driver is
//! `tests/browser/driver.mjs` (Playwright with the system Chromium).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::*;

/// The driver bounds itself at 30 s; this is the backstop.
const DRIVER_TIMEOUT: Duration = Duration::from_secs(60);

fn browser_dir() -> PathBuf {
    node_project("browser", &["playwright-core", "jose", "cookie-signature"])
}

fn chromium() -> &'static str {
    "/usr/bin/chromium"
}

#[tokio::test]
async fn browser_gets_a_token_cross_origin_and_disallowed_origins_do_not() {
    assert!(
        Path::new(chromium()).exists(),
        "the browser test needs Debian's chromium at {} (apt-get install -y chromium)",
        chromium()
    );
    let env = vec![
        ("SESSION_SECRET", SESSION_SECRET.to_owned()),
        ("TEST_JWT_SECRET", JWT_SECRET.to_owned()),
        ("JWT_ISSUER", ISSUER.to_owned()),
        ("JWT_AUDIENCE", AUDIENCE.to_owned()),
        ("CHROMIUM", chromium().to_owned()),
        ("DEADLINE_MS", "30000".to_owned()),
    ];
    let dir = tokio::task::spawn_blocking(browser_dir).await.unwrap();
    let (driver, ports) = Driver::start(dir, env, DRIVER_TIMEOUT).await;
    // The driver's servers are listening: start the service for its origin.
    let front_origin = format!("http://localhost:{}", ports["frontPort"]);
    let app = spawn_app_with(&[("ALLOWED_ORIGINS", &front_origin)]).await;
    let service_port = app.base.rsplit(':').next().unwrap().to_owned();
    let started = std::time::Instant::now();
    let (out, status, ctx) = driver.run(&service_port).await;
    eprintln!("browser driver ran {:?}", started.elapsed());
    assert!(out["error"].is_null(), "{ctx}");

    // 1-3: the token, fetched with the cookie and verified in the page.
    let logged_in = &out["loggedIn"];
    assert_eq!(logged_in["status"], 200, "{ctx}");
    assert_eq!(logged_in["verifiedInPage"], true, "{ctx}");
    assert_eq!(logged_in["alg"], "HS256", "{ctx}");
    assert_eq!(logged_in["sub"], "alice", "{ctx}");
    assert_eq!(logged_in["iss"], ISSUER, "{ctx}");
    assert_eq!(logged_in["aud"], AUDIENCE, "{ctx}");
    assert_eq!(
        logged_in["rooms"],
        serde_json::json!(["document-*", "user-alice"]),
        "{ctx}"
    );
    assert_eq!(logged_in["expiresAtIsExp"], true, "{ctx}");
    assert_eq!(logged_in["expiresInIsTtl"], true, "{ctx}");
    assert_eq!(logged_in["wrongSecretRejected"], true, "{ctx}");
    assert_eq!(logged_in["cookieSent"], true, "{ctx}");
    assert_eq!(logged_in["cookieVisibleToScript"], false, "{ctx}");
    assert_eq!(logged_in["allowOrigin"], front_origin.as_str(), "{ctx}");

    // 4: the caching authToken.
    let cache = &out["cache"];
    assert_eq!(cache["requestsForTwoCalls"], 1, "{ctx}");
    assert_eq!(cache["sameToken"], true, "{ctx}");
    assert_eq!(cache["tokenVerified"], true, "{ctx}");
    assert_eq!(cache["requestsAfterExpiry"], 1, "{ctx}");

    // 5: disallowed origins: cross-site, and same-site with the cookie attached.
    let disallowed = out["disallowed"].as_array().expect("disallowed");
    assert_eq!(disallowed.len(), 2, "{ctx}");
    for d in disallowed {
        assert_eq!(d["fetchRejected"], true, "{ctx}");
        assert_eq!(d["errorName"], "TypeError", "{ctx}");
        assert!(d["readableStatus"].is_null(), "{ctx}");
        assert_eq!(d["requests"], 1, "{ctx}");
        // The browser got the 403 but CORS kept it from the page.
        assert_eq!(d["wireStatus"], 403, "{ctx}");
        assert_eq!(d["corsError"], "MissingAllowOriginHeader", "{ctx}");
        assert_eq!(d["nodeStatus"], 403, "{ctx}");
        assert_eq!(d["nodeError"], "origin_not_allowed", "{ctx}");
        assert!(d["nodeAllowOrigin"].is_null(), "{ctx}");
    }
    // Cross-site: SameSite=Lax keeps the cookie home. Same site, other port:
    // the cookie goes along and only the origin guard refuses.
    assert_eq!(disallowed[0]["cookieSent"], false, "{ctx}");
    assert_eq!(disallowed[1]["cookieSent"], true, "{ctx}");

    // 6: no cookie: a readable 401.
    let anon = &out["noCookie"];
    assert_eq!(anon["cookies"], 0, "{ctx}");
    assert_eq!(anon["readable"], true, "{ctx}");
    assert_eq!(anon["status"], 401, "{ctx}");
    assert_eq!(anon["error"], "unauthenticated", "{ctx}");
    assert_eq!(anon["hasToken"], false, "{ctx}");
    assert_eq!(anon["authTokenError"], "token request failed: 401", "{ctx}");
    assert_eq!(anon["cookieSent"], false, "{ctx}");

    assert_eq!(out["ok"], true, "{ctx}");
    assert_eq!(status, Some(0), "{ctx}");
}

//! `jwt-cookie`'s cache of verified tokens (`SESSION_JWT_CACHE_SIZE`):
//! a hit skips the signature check but never the clock, a new JWKS empties
//! it, and failures are never kept. Tokens signed by the real `jose`.

use std::sync::atomic::Ordering;

use serde_json::json;

use super::jwt_cookie::{env, expect_user, jwks, write, HS_SECRET};
use crate::support::upstream::{Answer, Upstream};
use crate::support::*;

async fn cache_hits(app: &TestApp) -> f64 {
    metric(
        &app.metrics().await,
        "realtime_token_session_cache_hits_total",
    )
}

#[tokio::test]
async fn a_cached_token_stops_verifying_once_its_key_leaves_the_jwks() {
    let (written, keys) = write(
        json!({"old": "RS256", "new": "RS256"}),
        json!([
            {"key": "old", "kid": "k1", "claims": {"sub": "alice"}},
            {"key": "new", "kid": "k3", "claims": {"sub": "carol"}},
            {"key": "new", "kid": "k1", "claims": {"sub": "mallory"}},
        ]),
    );
    let server = Upstream::start(Answer::Json(jwks(&keys, &[("old", "k1"), ("new", "k2")]))).await;
    let app = spawn_app_with(&env(&[
        ("SESSION_JWKS_URL", &server.url()),
        ("SESSION_JWT_ALGORITHMS", "RS256"),
    ]))
    .await;
    for _ in 0..3 {
        expect_user(&app, &written[0], "alice").await;
    }
    assert_eq!(
        cache_hits(&app).await,
        2.0,
        "verified once, then from the cache"
    );
    // A forged token (mallory's, signed by another key under k1) is refused
    // every time: failures are not kept.
    app.expect_unauthenticated(&written[2]).await;
    app.expect_unauthenticated(&written[2]).await;
    assert_eq!(cache_hits(&app).await, 2.0);

    // k1 leaves the JWKS; carol's unknown kid makes the one refetch.
    server.set(Answer::Json(jwks(&keys, &[("new", "k2")])));
    app.expect_unauthenticated(&written[1]).await;
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    // alice's token was cached, but its key is gone.
    app.expect_unauthenticated(&written[0]).await;
    assert_eq!(cache_hits(&app).await, 2.0);
}

#[tokio::test]
async fn a_cached_token_is_refused_once_it_expires() {
    // exp 24 s ago: inside the 30 s leeway for a few more seconds.
    let (written, keys) = write(
        json!({"k": "RS256"}),
        json!([{"key": "k", "claims": {"sub": "alice"}, "expiresIn": -24}]),
    );
    let app = spawn_app_with(&env(&[
        ("SESSION_JWT_KEY", keys["k"]["pem"].as_str().unwrap()),
        ("SESSION_JWT_ALGORITHMS", "RS256"),
    ]))
    .await;
    expect_user(&app, &written[0], "alice").await;
    // Asked again until the leeway runs out; each answer after the first,
    // the refusal included, comes from the cache.
    let mut asked = 1;
    let status = eventually("the leeway to run out", async || {
        let status = app.post_token(Some(&written[0])).await.status().as_u16();
        asked += 1;
        (status != 200).then_some(status)
    })
    .await;
    assert_eq!(status, 401, "refused for another reason than expiry");
    assert_eq!(cache_hits(&app).await, f64::from(asked - 1));
    app.expect_unauthenticated(&written[0]).await;
}

#[tokio::test]
async fn size_0_turns_the_cache_off_and_bad_sizes_are_refused() {
    let (written, _) = write(
        json!({}),
        json!([{"secret": HS_SECRET, "claims": {"sub": "alice"}}]),
    );
    let app = spawn_app_with(&env(&[
        ("SESSION_JWT_KEY", HS_SECRET),
        ("SESSION_JWT_ALGORITHMS", "HS256"),
        ("SESSION_JWT_CACHE_SIZE", "0"),
    ]))
    .await;
    expect_user(&app, &written[0], "alice").await;
    expect_user(&app, &written[0], "alice").await;
    assert_eq!(cache_hits(&app).await, 0.0);
    for size in ["-1", "ten", "1000001"] {
        let errors = config_with(&env(&[
            ("SESSION_JWT_KEY", HS_SECRET),
            ("SESSION_JWT_ALGORITHMS", "HS256"),
            ("SESSION_JWT_CACHE_SIZE", size),
        ]))
        .err()
        .unwrap_or_else(|| panic!("SESSION_JWT_CACHE_SIZE={size} was accepted"));
        assert!(errors.mentions("SESSION_JWT_CACHE_SIZE"), "{errors}");
    }
}

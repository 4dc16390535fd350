//! `RATE_LIMIT_STORE=redis`: the per-subject and per-address buckets live in
//! Redis, so the configured rate holds for every replica together; when
//! Redis does not answer, each replica's own buckets answer (counted).

use crate::support::*;

async fn replica(extra: &[(&str, &str)]) -> TestApp {
    let url = redis_url();
    let mut env = vec![
        ("RATE_LIMIT_STORE", "redis"),
        ("REDIS_URL", url.as_str()),
        ("RATE_LIMIT_SUBJECT", "4/m"),
        ("RATE_LIMIT_IP", "off"),
    ];
    env.extend_from_slice(extra);
    spawn_app_with(&env).await
}

#[tokio::test]
async fn the_subject_limit_holds_across_replicas_and_its_keys_expire() {
    let (a, b) = (replica(&[]).await, replica(&[]).await);
    let user = unique("shared-");
    let cookie = a.cookie(&user);
    // Alternating between two replicas: 4 in all, not 4 each.
    for (i, app) in [&a, &b, &a, &b].into_iter().enumerate() {
        let res = app.post_token(Some(&cookie)).await;
        assert_eq!(res.status(), 200, "request {i}");
    }
    for app in [&a, &b] {
        let res = app.post_token(Some(&cookie)).await;
        assert!(res.headers().contains_key("retry-after"));
        expect_error(res, 429, "rate_limited").await;
    }
    let mut redis = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("rt:rl:sub:{user}"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(
        ttl > 0 && ttl <= 61_000,
        "the bucket key expires: PTTL {ttl}"
    );

    // In memory (the default), each replica counts alone.
    let memory = [("RATE_LIMIT_STORE", "memory")];
    let (c, d) = (replica(&memory).await, replica(&memory).await);
    let other = unique("local-");
    for app in [&c, &d, &c, &d, &c, &d, &c, &d] {
        assert_eq!(
            app.post_token(Some(&app.cookie(&other))).await.status(),
            200
        );
    }
}

#[tokio::test]
async fn without_redis_each_replica_limits_alone_and_counts_the_fallbacks() {
    let app = replica(&[
        ("RATE_LIMIT_REDIS_URL", "redis://127.0.0.1:1"),
        ("RATE_LIMIT_SUBJECT", "2/m"),
    ])
    .await;
    let cookie = app.cookie(&unique("fallback-"));
    for _ in 0..2 {
        expect_token(app.post_token(Some(&cookie)).await).await;
    }
    expect_error(app.post_token(Some(&cookie)).await, 429, "rate_limited").await;
    let metrics = app.metrics().await;
    let fallbacks = metric(&metrics, "realtime_token_rate_limit_fallbacks_total");
    assert_eq!(fallbacks, 3.0, "{metrics}");
}

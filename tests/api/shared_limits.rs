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

#[tokio::test]
async fn with_redis_sessions_each_token_is_one_round_trip_and_the_limits_still_hold() {
    let (_server, url, mut redis) = private_redis().await;
    let (sid, user, other) = (unique("sid-"), unique("alice-"), unique("bob-"));
    // 6/m leases nothing (a 32nd of 6 is under 1): every check is exact.
    let session =
        |user: &str| serde_json::json!({"cookie": {"path": "/"}, "userId": user}).to_string();
    let put = |doc: String| {
        redis::cmd("SET")
            .arg(format!("sess:{sid}"))
            .arg(doc)
            .clone()
    };
    let () = put(session(&user)).query_async(&mut redis).await.unwrap();
    let env = [
        ("SESSION_BACKEND", "redis"),
        ("SESSION_COOKIE", "connect.sid"),
        ("REDIS_URL", url.as_str()),
        ("RATE_LIMIT_STORE", "redis"),
        ("RATE_LIMIT_SUBJECT", "6/m"),
        ("RATE_LIMIT_IP", "1000/m"),
    ];
    let (a, b) = (spawn_app_with(&env).await, spawn_app_with(&env).await);
    let cookie = express_cookie(&sid);
    // First sight of the session: the subject's bucket is its own trip.
    for app in [&a, &b] {
        let (_, claims) = expect_token(app.post_token(Some(&cookie)).await).await;
        assert_eq!(claims.sub, user);
    }
    let before = calls(&mut redis, "evalsha").await;
    for app in [&a, &b, &a, &b] {
        expect_token(app.post_token(Some(&cookie)).await).await;
    }
    let scripts = calls(&mut redis, "evalsha").await - before;
    assert_eq!(
        scripts, 4,
        "one script per token: session, address and subject together"
    );
    // Six tokens in all across both replicas: the seventh is refused.
    for app in [&a, &b] {
        expect_error(app.post_token(Some(&cookie)).await, 429, "rate_limited").await;
    }

    // The session now names another user: the request is charged to that
    // user, not to the one the hint remembered.
    let full_bucket = |who: &str| redis::cmd("GET").arg(format!("rt:rl:sub:{who}")).clone();
    let alice_tat: String = full_bucket(&user).query_async(&mut redis).await.unwrap();
    let () = put(session(&other)).query_async(&mut redis).await.unwrap();
    let (_, claims) = expect_token(a.post_token(Some(&cookie)).await).await;
    assert_eq!(claims.sub, other);
    let after: String = full_bucket(&user).query_async(&mut redis).await.unwrap();
    assert_eq!(alice_tat, after, "the remembered subject was not charged");
    let bob_tat: Option<String> = full_bucket(&other).query_async(&mut redis).await.unwrap();
    assert!(bob_tat.is_some(), "the session's subject was charged");
    // No session: still 401, and the address bucket still counts it.
    let _: () = redis::cmd("DEL")
        .arg(format!("sess:{sid}"))
        .query_async(&mut redis)
        .await
        .unwrap();
    expect_error(a.post_token(Some(&cookie)).await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn leases_spare_redis_and_the_fleet_never_gets_more_than_the_bucket() {
    let (_server, url, mut redis) = private_redis().await;
    // 640 an hour: leases of 20 (a 32nd), and hardly any refill meanwhile.
    let env = [
        ("REDIS_URL", url.as_str()),
        ("RATE_LIMIT_STORE", "redis"),
        ("RATE_LIMIT_SUBJECT", "640/h"),
        ("RATE_LIMIT_IP", "off"),
    ];
    let (a, b) = (spawn_app_with(&env).await, spawn_app_with(&env).await);
    let cookie = a.cookie(&unique("leased-"));
    let (mut granted, mut refused_in_a_row) = (0, 0);
    for i in 0..2000 {
        let app = if i % 2 == 0 { &a } else { &b };
        match app.post_token(Some(&cookie)).await.status().as_u16() {
            200 => (granted, refused_in_a_row) = (granted + 1, 0),
            429 => refused_in_a_row += 1,
            other => panic!("status {other}"),
        }
        if refused_in_a_row == 4 {
            break;
        }
    }
    assert_eq!(refused_in_a_row, 4, "the limit was reached");
    // Every leased token was charged in Redis: never more than the bucket
    // (plus a token of refill); at most a lease's spares per replica lost.
    assert!(granted <= 641, "granted {granted}");
    assert!(granted >= 640 - 2 * 19, "granted {granted}");
    let scripts = calls(&mut redis, "evalsha").await;
    assert!(
        scripts * 10 < granted,
        "{scripts} scripts for {granted} tokens: leases spare Redis"
    );
}

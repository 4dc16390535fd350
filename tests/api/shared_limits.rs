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

/// `RATE_LIMIT_IP` for the bursts below: leases of 20 (a 32nd).
const BURST_LIMIT: u32 = 640;

/// A fresh address (a /64 of its own in the documentation range), so its
/// bucket in the shared Redis is this test's alone.
fn fresh_address() -> String {
    use rand::Rng as _;
    let mut rng = rand::thread_rng();
    format!("2001:db8:{:x}:{:x}::7", rng.gen::<u16>(), rng.gen::<u16>())
}

/// `connections` concurrent connections to each of `apps`, all from
/// `address` (forwarded by the trusted proxy 127.0.0.1), each POSTing until
/// its first 429: the tokens granted in all, and what GCRA lets the bucket
/// grant meanwhile (the burst plus the refill during the burst).
async fn burst(apps: &[&TestApp], connections: usize, address: &str, cookie: &str) -> (u32, u32) {
    let started = std::time::Instant::now();
    let workers = apps.iter().flat_map(|app| {
        (0..connections).map(move |_| async move {
            let mut granted = 0u32;
            loop {
                let res = app
                    .client
                    .post(app.url("/api/realtime-token"))
                    .header("Cookie", cookie)
                    .header("X-Forwarded-For", address)
                    .send()
                    .await
                    .unwrap();
                match res.status().as_u16() {
                    200 => granted += 1,
                    429 => return granted,
                    other => panic!("status {other}"),
                }
                assert!(granted <= 2 * BURST_LIMIT, "the limit never came");
            }
        })
    });
    let granted = futures_util::future::join_all(workers)
        .await
        .into_iter()
        .sum();
    let refill = started.elapsed().as_secs_f64() * f64::from(BURST_LIMIT) / 60.0;
    (granted, BURST_LIMIT + refill.ceil() as u32 + 1)
}

/// Replicas that count `BURST_LIMIT` a minute per address in the shared
/// Redis, behind a trusted proxy; `extra` on top.
async fn limited_replicas(n: usize, extra: &[(&str, &str)]) -> Vec<TestApp> {
    let url = redis_url();
    let limit = format!("{BURST_LIMIT}/m");
    let mut env = vec![
        ("RATE_LIMIT_STORE", "redis"),
        ("REDIS_URL", url.as_str()),
        ("RATE_LIMIT_IP", limit.as_str()),
        ("RATE_LIMIT_SUBJECT", "off"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ];
    env.extend_from_slice(extra);
    let mut apps = Vec::new();
    for _ in 0..n {
        apps.push(spawn_app_with(&env).await);
    }
    apps
}

/// At least 90 % of the limit, and never more than the bucket allowed.
fn assert_shared_fairly(what: &str, granted: u32, allowed: u32) {
    eprintln!("{what}: {granted} tokens granted, {allowed} allowed");
    let floor = BURST_LIMIT * 9 / 10;
    assert!(
        granted >= floor,
        "{what}: {granted} tokens, under 90 % of {BURST_LIMIT}: concurrent checks wasted leases"
    );
    assert!(
        granted <= allowed,
        "{what}: {granted} tokens, more than the {allowed} the bucket allowed"
    );
}

#[tokio::test]
async fn eight_concurrent_connections_from_one_address_get_its_whole_limit() {
    let apps = limited_replicas(1, &[]).await;
    let cookie = apps[0].cookie(&unique("burst-"));
    let (granted, allowed) = burst(&[&apps[0]], 8, &fresh_address(), &cookie).await;
    assert_shared_fairly("1 replica x 8 connections", granted, allowed);
}

#[tokio::test]
async fn two_replicas_with_four_connections_each_share_one_limit() {
    let apps = limited_replicas(2, &[]).await;
    let cookie = apps[0].cookie(&unique("burst-"));
    let (granted, allowed) = burst(&[&apps[0], &apps[1]], 4, &fresh_address(), &cookie).await;
    assert_shared_fairly("2 replicas x 4 connections", granted, allowed);
}

#[tokio::test]
async fn folded_lookups_under_concurrency_get_the_whole_address_limit() {
    let url = redis_url();
    let sid = unique("burst-sid-");
    let mut redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let session = serde_json::json!({"cookie": {"path": "/"}, "userId": unique("folded-")});
    let () = redis::cmd("SET")
        .arg(format!("sess:{sid}"))
        .arg(session.to_string())
        .arg("EX")
        .arg(600)
        .query_async(&mut redis)
        .await
        .unwrap();
    let backend = [
        ("SESSION_BACKEND", "redis"),
        ("SESSION_COOKIE", "connect.sid"),
    ];
    let apps = limited_replicas(1, &backend).await;
    let (granted, allowed) = burst(&[&apps[0]], 8, &fresh_address(), &express_cookie(&sid)).await;
    assert_shared_fairly("folded, 1 replica x 8 connections", granted, allowed);
}

#[tokio::test]
async fn while_redis_hangs_concurrent_checks_of_one_address_each_fall_back() {
    let proxy = FaultProxy::start("127.0.0.1:6379").await;
    proxy.set(ProxyMode::Hang);
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let apps = limited_replicas(1, &[("RATE_LIMIT_REDIS_URL", url.as_str())]).await;
    let (app, address) = (&apps[0], fresh_address());
    let cookie = app.cookie(&unique("hung-"));
    // The checks that wait for the first one's trip give up with it: each
    // is answered by the replica's own bucket, none waits forever.
    let requests = (0..8).map(|_| {
        app.client
            .post(app.url("/api/realtime-token"))
            .header("Cookie", &cookie)
            .header("X-Forwarded-For", &address)
            .send()
    });
    for res in futures_util::future::join_all(requests).await {
        expect_token(res.unwrap()).await;
    }
    let metrics = app.metrics().await;
    let fallbacks = metric(&metrics, "realtime_token_rate_limit_fallbacks_total");
    assert_eq!(fallbacks, 8.0, "{metrics}");
}

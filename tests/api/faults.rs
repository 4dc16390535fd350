//! Faults under load (the short CI version of `scripts/faults.sh`): the session
//! store goes away during a load run and comes back. Every answer meanwhile is
//! 200 or 503, never 401; tokens flow again by themselves once it is back
//! (`scripts/faults.sh` measures how soon; this test only bounds it loosely).

use std::time::Duration;

use redis::AsyncCommands as _;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_under_load_is_503_only_and_recovers_by_itself() {
    let prefix = unique("rt-fault:") + ":";
    let mut conn = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = conn
        .set_ex(
            format!("{prefix}sid-load"),
            r#"{"cookie":{},"userId":"alice"}"#,
            120,
        )
        .await
        .unwrap();
    let proxy = FaultProxy::start("127.0.0.1:6379").await;
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "redis"),
        ("REDIS_URL", &url),
        ("SESSION_REDIS_PREFIX", &prefix),
        ("SESSION_LOOKUP_TIMEOUT", "200ms"),
        ("RATE_LIMIT_IP", "off"),
        ("RATE_LIMIT_SUBJECT", "off"),
        ("WORKERS", "2"),
    ])
    .await;
    let cookie = express_cookie("sid-load");
    let load = Load::start(&app.client, &app.url("/api/realtime-token"), &cookie, 8);
    // Each phase lasts until the load shows what it waits for (bounded).
    load.wait_for("tokens before the outage", |r| r.2 == 200, 50)
        .await;
    let down_at = load.elapsed();
    proxy.set(ProxyMode::Down);
    let outage = |r: &Row| r.0 > down_at && r.2 == 503;
    load.wait_for("503s during the outage", outage, 20).await;
    let up_at = load.elapsed();
    proxy.set(ProxyMode::Up);
    let recovered = |r: &Row| r.0 > up_at && r.2 == 200;
    load.wait_for("tokens after the outage", recovered, 50)
        .await;
    let results = load.stop().await;

    let count = |f: &dyn Fn(&Row) -> bool| results.iter().filter(|r| f(r)).count();
    assert!(
        count(&|r| r.2 == 200) > 50,
        "load ran: {} requests",
        results.len()
    );
    let unexpected: Vec<_> = results
        .iter()
        .filter(|r| r.2 != 200 && r.2 != 503)
        .collect();
    assert!(
        unexpected.is_empty(),
        "only 200 or 503 allowed: {unexpected:?}"
    );
    // Sent after the outage began (and answered before it ended): never a token.
    let during = count(&|r| r.0 > down_at + Duration::from_millis(50) && r.1 < up_at && r.2 == 200);
    assert_eq!(during, 0, "tokens were issued while Redis was down");
    assert!(
        count(&|r| r.0 > down_at && r.1 < up_at && r.2 == 503) > 0,
        "the outage was seen"
    );
    // Recovery without a restart, and no refusal after the first token.
    let first_ok = results
        .iter()
        .filter(|r| r.0 >= up_at && r.2 == 200)
        .map(|r| r.1)
        .min()
        .expect("tokens flow again");
    eprintln!("recovered {:?} after Redis returned", first_ok - up_at);
    let late_failures = count(&|r| r.0 > first_ok + Duration::from_millis(50) && r.2 != 200);
    assert_eq!(late_failures, 0);
}

//! The in-process rate limits stay exact for one hot key checked by both
//! workers at once (each worker thread keeps a handle on the state of the
//! key it checked last; all of them must count on the same state).

use std::time::{Duration, Instant};

use crate::support::*;

/// The burst of both limits here: refilled one every 3.6 s (`1000/h`).
const LIMIT: u32 = 1000;
const CONNECTIONS: usize = 16;

/// `CONNECTIONS` concurrent connections (the server hands them to its two
/// workers in turn) each POSTing until its first 429: the answers with
/// status `through` in all, and the most the bucket may have let through
/// meanwhile (the burst plus its refill while the test ran).
async fn until_limited(app: &TestApp, cookie: Option<&str>, through: u16) -> (u32, u32) {
    let started = Instant::now();
    let connections = (0..CONNECTIONS).map(|_| async move {
        let mut passed = 0u32;
        loop {
            let res = app.post_token(cookie).await;
            match res.status().as_u16() {
                429 => return passed,
                status if status == through => passed += 1,
                other => panic!("status {other}"),
            }
            assert!(passed <= 2 * LIMIT, "the limit never came");
        }
    });
    let passed = futures_util::future::join_all(connections)
        .await
        .into_iter()
        .sum();
    let interval = Duration::from_secs(3600) / LIMIT;
    let refilled = (started.elapsed().as_secs_f64() / interval.as_secs_f64()).ceil() as u32;
    (passed, LIMIT + refilled)
}

#[tokio::test]
async fn one_hot_subject_on_both_workers_gets_exactly_its_limit() {
    let app = spawn_app_with(&[
        ("WORKERS", "2"),
        ("RATE_LIMIT_SUBJECT", "1000/h"),
        ("RATE_LIMIT_IP", "off"),
    ])
    .await;
    let cookie = app.cookie("alice");
    let (granted, allowed) = until_limited(&app, Some(&cookie), 200).await;
    assert!(
        (LIMIT..=allowed).contains(&granted),
        "{granted} tokens for one subject; its bucket allowed {LIMIT} to {allowed}"
    );
    // Another subject has its own bucket.
    expect_token(app.post_token(Some(&app.cookie("bob"))).await).await;
}

#[tokio::test]
async fn one_hot_address_on_both_workers_gets_exactly_its_limit() {
    let app = spawn_app_with(&[
        ("WORKERS", "2"),
        ("RATE_LIMIT_IP", "1000/h"),
        ("RATE_LIMIT_SUBJECT", "off"),
    ])
    .await;
    // Without a session every request spends the address's bucket.
    let (answered, allowed) = until_limited(&app, None, 401).await;
    assert!(
        (LIMIT..=allowed).contains(&answered),
        "{answered} requests from one address answered; its bucket allowed {LIMIT} to {allowed}"
    );
}

//! Operating it: rate limits, metrics, access log.

use std::net::IpAddr;

use serde_json::json;

use crate::support::*;

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn subjects_over_their_limit_get_429_with_retry_after_and_recover() {
    let app = spawn_app_with(&[("RATE_LIMIT_SUBJECT", "2/s"), ("RATE_LIMIT_IP", "off")]).await;
    let alice = app.cookie("alice");
    for _ in 0..2 {
        expect_token(app.post_token(Some(&alice)).await).await;
    }
    // The bucket refills one request every 500 ms: on a slow machine the
    // third request may still find one, but not the next few as well.
    let mut limited = None;
    for _ in 0..6 {
        let res = app.post_token(Some(&alice)).await;
        if res.status() == 429 {
            limited = Some(res);
            break;
        }
    }
    let res = limited.expect("alice is limited after her burst");
    assert_eq!(res.headers()["retry-after"], "1");
    expect_error(res, 429, "rate_limited").await;
    // Another subject is not affected.
    expect_token(app.post_token(Some(&app.cookie("bob"))).await).await;
    // Once her bucket refills (one request a second here), alice is served again.
    let res = eventually("alice's bucket to refill", async || {
        let res = app.post_token(Some(&alice)).await;
        (res.status() != 429).then_some(res)
    })
    .await;
    expect_token(res).await;
}

#[tokio::test]
async fn a_flood_from_one_address_does_not_limit_another() {
    let app = spawn_app_with(&[("RATE_LIMIT_IP", "3/m"), ("RATE_LIMIT_SUBJECT", "off")]).await;
    let url = app.url("/api/realtime-token");
    let flood = client_from("127.0.0.1");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        // No cookie at all: the address limit applies before any session lookup.
        statuses.push(flood.post(&url).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429]);
    let res = flood
        .post(&url)
        .header("Cookie", app.cookie("alice"))
        .send()
        .await
        .unwrap();
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    expect_error(res, 429, "rate_limited").await;

    let other = client_from("127.0.0.2");
    let res = other
        .post(&url)
        .header("Cookie", app.cookie("alice"))
        .send()
        .await
        .unwrap();
    expect_token(res).await;
}

#[tokio::test]
async fn forwarded_for_is_ignored_from_untrusted_peers_and_honoured_from_trusted_ones() {
    let app = spawn_app_with(&[("RATE_LIMIT_IP", "2/m"), ("RATE_LIMIT_SUBJECT", "off")]).await;
    let url = app.url("/api/realtime-token");
    let client = reqwest::Client::new();
    // Untrusted peer: a fresh X-Forwarded-For each time does not escape the limit.
    let mut statuses = Vec::new();
    for i in 0..3 {
        let res = client
            .post(&url)
            .header("X-Forwarded-For", format!("10.0.0.{i}"))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429]);

    let app = spawn_app_with(&[
        ("RATE_LIMIT_IP", "2/m"),
        ("RATE_LIMIT_SUBJECT", "off"),
        ("TRUSTED_PROXIES", "127.0.0.0/8"),
    ])
    .await;
    let url = app.url("/api/realtime-token");
    let send = |xff: &'static str| client.post(&url).header("X-Forwarded-For", xff).send();
    // The proxy appends the client's address; the nearest untrusted hop counts.
    assert_eq!(send("10.0.0.1").await.unwrap().status(), 401);
    assert_eq!(send("6.6.6.6, 10.0.0.1").await.unwrap().status(), 401);
    assert_eq!(send("10.0.0.1").await.unwrap().status(), 429);
    assert_eq!(send("10.0.0.2").await.unwrap().status(), 401);
    // RFC 7239 `Forwarded` (TRUSTED_PROXY_HEADER=forwarded): tests/api/client_address.rs.
}

#[tokio::test]
async fn metrics_counters_move_as_requests_are_made() {
    let app = spawn_app().await;
    let scrape = || app.metrics();
    let before = scrape().await;
    expect_token(app.post_token(Some(&app.cookie("alice"))).await).await;
    expect_token(app.post_token(Some(&app.cookie("alice"))).await).await;
    expect_error(app.post_token(None).await, 401, "unauthenticated").await;
    let res = app
        .post_json(&app.cookie("alice"), json!({"rooms": ["secret"]}))
        .await;
    expect_error(res, 403, "room_not_allowed").await;
    let after = scrape().await;

    let delta = |m: &str| metric(&after, m) - metric(&before, m);
    assert_eq!(delta("realtime_token_tokens_issued_total"), 2.0, "{after}");
    assert_eq!(
        delta("realtime_token_rejections_total{code=\"unauthenticated\"}"),
        1.0
    );
    assert_eq!(
        delta("realtime_token_rejections_total{code=\"room_not_allowed\"}"),
        1.0
    );
    assert_eq!(
        delta("realtime_token_session_lookup_seconds_count{outcome=\"ok\"}"),
        3.0
    );
    assert_eq!(
        delta("realtime_token_session_lookup_seconds_count{outcome=\"unauthenticated\"}"),
        1.0
    );
    assert_eq!(
        delta("realtime_token_http_request_seconds_count{route=\"/api/realtime-token\",status=\"200\"}"),
        2.0
    );
    assert!(after.contains("process_resident_memory_bytes"));
    // Log records dropped because stderr fell behind (none here).
    assert!(after.contains("\nrealtime_token_log_records_dropped_total "));
}

#[tokio::test]
async fn metrics_can_move_to_their_own_address() {
    let config = config_with(&[("METRICS_ADDR", "127.0.0.1:0")]).unwrap();
    let app = realtime_token::Application::build(&config).unwrap();
    let (port, metrics_port) = (app.port(), app.metrics_port().expect("metrics port"));
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let main = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(main.status(), 404);
    let own = client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    assert!(own
        .text()
        .await
        .unwrap()
        .contains("realtime_token_tokens_issued_total"));
    let token = client
        .post(format!(
            "http://127.0.0.1:{metrics_port}/api/realtime-token"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        token.status(),
        404,
        "the metrics port serves only the operator endpoints"
    );
    // The API description goes with the metrics: nothing but the token
    // endpoint and the probes on the port a Service exposes.
    let spec = |port: u16| {
        client
            .get(format!("http://127.0.0.1:{port}/openapi.yaml"))
            .send()
    };
    assert_eq!(spec(port).await.unwrap().status(), 404);
    let own = spec(metrics_port).await.unwrap();
    assert_eq!(own.status(), 200);
    assert!(own.text().await.unwrap().starts_with("openapi: "));
}

#[tokio::test]
async fn the_access_log_has_one_line_per_request_and_no_secrets() {
    let server =
        tokio::task::spawn_blocking(|| ServerProcess::start(&[("ADMIN_API_KEY", ADMIN_KEY)]))
            .await
            .unwrap();
    let client = reqwest::Client::new();
    let signer = realtime_token::session::codec::CookieSigner::new([SESSION_SECRET]);
    let cookie_value = realtime_token::session::cookies::percent_encode(&signer.sign("alice"));
    let res = client
        .post(server.url("/api/realtime-token?debug=1"))
        .header("Cookie", format!("session={cookie_value}"))
        .header("X-Request-Id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "req-42");
    let token = res.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Admin minting: the bearer key is a secret and must not be logged either.
    let res = client
        .post(server.url("/api/realtime-token"))
        .header("Authorization", format!("Bearer {ADMIN_KEY}"))
        .header("Cookie", format!("session={cookie_value}"))
        .json(&json!({"sub": "job-1", "rooms": ["document-1"]}))
        .send()
        .await
        .unwrap();
    let admin_token = res.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = client
        .post(server.url("/api/realtime-token"))
        .header("Cookie", "session=s%3Aforged.bad")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    server.terminate();
    let (code, server) = tokio::task::spawn_blocking(move || {
        let mut server = server;
        (server.wait_exit(), server)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0));
    let log = server.log_text();

    let access: Vec<&str> = log.lines().filter(|l| l.contains(" access] ")).collect();
    assert_eq!(access.len(), 3, "{log}");
    assert!(access[0].contains("POST /api/realtime-token 200"), "{log}");
    assert!(
        access[0].contains("sub=alice") && access[0].contains("rid=req-42"),
        "{log}"
    );
    assert!(access[1].contains("sub=job-1"), "{log}");
    assert!(
        access[2].contains(" 401 ") && access[2].contains("error=unauthenticated"),
        "{log}"
    );
    for secret in [
        cookie_value.as_str(),
        "forged.bad",
        &token,
        &admin_token,
        ADMIN_KEY,
        JWT_SECRET,
        SESSION_SECRET,
        "eyJ",
        "debug=1",
    ] {
        assert!(
            !log.contains(secret),
            "{secret} leaked into the log:\n{log}"
        );
    }
}

#[tokio::test]
async fn json_log_lines_parse() {
    let server = tokio::task::spawn_blocking(|| ServerProcess::start(&[("LOG_FORMAT", "json")]))
        .await
        .unwrap();
    let res = reqwest::Client::new()
        .post(server.url("/api/realtime-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    server.terminate();
    let server = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.wait_exit();
        server
    })
    .await
    .unwrap();
    let log = server.log_text();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access = lines
        .iter()
        .find(|l| l["target"] == "access")
        .expect("an access line");
    assert_eq!(access["status"], 401);
    assert_eq!(access["route"], "/api/realtime-token");
    assert_eq!(access["error"], "unauthenticated");
    assert!(access["duration_us"].is_u64() && access["request_id"].is_string());
}

#[tokio::test]
async fn metrics_can_be_switched_off() {
    let app = spawn_app_with(&[("METRICS", "off")]).await;
    expect_token(app.post_token(Some(&app.cookie("alice"))).await).await;
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    expect_error(res, 404, "not_found").await;
}

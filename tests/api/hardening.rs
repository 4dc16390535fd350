//! Graceful shutdown and the HTTP hardening limits.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::upstream::{Answer, Upstream};
use crate::support::*;

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    let slow = Upstream::start(Answer::Slow(
        json!({"id": "slow-user"}),
        Duration::from_millis(2500),
    ))
    .await;
    let (upstream, received) = (slow.url(), slow.hits.clone());
    let env = [
        ("SESSION_BACKEND", "upstream"),
        ("SESSION_UPSTREAM_URL", upstream.as_str()),
        ("SESSION_LOOKUP_TIMEOUT", "5s"),
        ("SESSION_CACHE_TTL", "off"),
    ];
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let server = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        ServerProcess::start(&env)
    })
    .await
    .unwrap();
    let url = server.url("/api/realtime-token");
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .header("Cookie", "app=1")
            .send()
            .await
    });
    // Once the upstream has the lookup, the request is in flight.
    eventually("the lookup to reach the upstream", async || {
        received.load(Ordering::SeqCst) > 0
    })
    .await;
    server.terminate();
    let res = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(decode(body["token"].as_str().unwrap()).sub, "slow-user");
    let (code, server) = tokio::task::spawn_blocking(move || {
        let mut server = server;
        (server.wait_exit(), server)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{}", server.log_text());
    // Stopped: new connections are refused.
    assert!(reqwest::Client::new()
        .get(server.url("/healthz"))
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn every_response_has_nosniff() {
    let app = spawn_app().await;
    for (method, path) in [
        ("GET", "/healthz"),
        ("GET", "/nope"),
        ("GET", "/api/realtime-token"),
        ("POST", "/api/realtime-token"),
    ] {
        let res = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.headers()["x-content-type-options"],
            "nosniff",
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn oversized_headers_are_refused_and_the_service_keeps_serving() {
    let app = spawn_app().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // One huge header: over actix's 128 KiB head limit.
    let head = format!(
        "POST /api/realtime-token HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(140 * 1024)
    );
    let text = raw_exchange(&addr, head.as_bytes()).await;
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");
    // Too many headers.
    let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let head = format!("POST /api/realtime-token HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let text = raw_exchange(&addr, head.as_bytes()).await;
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");
    assert!(!text.contains("token\""));
    // Still serving.
    expect_token(app.post_token(Some(&app.cookie("alice"))).await).await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let app = spawn_app().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"POST /api/realtime-token HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the server closes the connection within its header timeout"
    );
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    expect_token(app.post_token(Some(&app.cookie("alice"))).await).await;
}

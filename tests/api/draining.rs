//! Draining after SIGTERM (`SHUTDOWN_GRACE`): `/readyz` turns 503 at once,
//! tokens are still served, a second signal ends the grace early, and the
//! process exits 0.

use realtime_token::session::{codec::CookieSigner, cookies::percent_encode};

use crate::support::*;

#[tokio::test]
async fn sigterm_drains_with_readyz_503_while_tokens_are_served_then_exits_0() {
    let server = tokio::task::spawn_blocking(|| ServerProcess::start(&[("SHUTDOWN_GRACE", "60s")]))
        .await
        .unwrap();
    let cookie = format!(
        "session={}",
        percent_encode(&CookieSigner::new([SESSION_SECRET]).sign("alice"))
    );
    let client = reqwest::Client::new();
    let ready = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    server.terminate();
    let body = eventually("/readyz to turn 503", async || {
        let res = client.get(server.url("/readyz")).send().await.unwrap();
        if res.status() == 503 {
            Some(res.text().await.unwrap())
        } else {
            None
        }
    })
    .await;
    assert!(body.contains("\"shutting_down\""), "{body}");
    // Still serving, on the open connection and on new ones.
    for client in [client.clone(), reqwest::Client::new()] {
        let res = client
            .post(server.url("/api/realtime-token"))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "a token during the grace");
        let health = client.get(server.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200, "liveness during the grace");
    }

    // A second SIGTERM ends the 60 s grace early.
    server.terminate();
    let (code, server) = tokio::task::spawn_blocking(move || {
        let mut server = server;
        (server.wait_exit(), server)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{}", server.log_text());
    assert!(
        server.log_text().contains("draining for 60s"),
        "{}",
        server.log_text()
    );
}

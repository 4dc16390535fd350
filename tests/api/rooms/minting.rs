//! Admin-key minting and `realtime-token mint` ask the room source too, so
//! an operator cannot mint what the app would refuse.

use serde_json::json;

use super::*;

async fn admin_post(app: &TestApp, body: serde_json::Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/realtime-token"))
        .bearer_auth(ADMIN_KEY)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_minting_asks_the_source_for_the_sub_in_the_body() {
    let db = Memberships::create().await;
    db.add("alice", 1).await;
    db.add("bob", 3).await;
    let proxy = FaultProxy::start("127.0.0.1:5432").await;
    let (query, url) = (db.query(), via(&proxy));
    let app = serve_query(
        &query,
        &[
            ("ADMIN_API_KEY", ADMIN_KEY),
            ("REALTIME_ROOMS", "user-{sub}"),
            ("ROOMS_DATABASE_URL", &url),
            ("ROOMS_TIMEOUT", "500ms"),
        ],
    )
    .await;
    let rooms = rooms_of(admin_post(&app, json!({"sub": "alice"})).await).await;
    assert_eq!(rooms, ["user-alice", "document-1"]);
    let asked = json!({"sub": "alice", "rooms": ["document-1"]});
    assert_eq!(
        rooms_of(admin_post(&app, asked).await).await,
        ["document-1"]
    );
    let bobs = json!({"sub": "alice", "rooms": ["document-3"]});
    let message = expect_error(admin_post(&app, bobs).await, 403, "room_not_allowed").await;
    assert!(message.contains("document-3"), "{message}");

    proxy.set(ProxyMode::Down);
    let res = admin_post(&app, json!({"sub": "alice"})).await;
    expect_error(res, 503, "rooms_unavailable").await;
}

#[tokio::test]
async fn the_mint_command_asks_the_source_and_refuses_what_it_would() {
    let db = Memberships::create().await;
    db.add("alice", 1).await;
    db.add("bob", 3).await;
    let (query, url) = (db.query(), database_url());
    let env = [
        ("REALTIME_ROOMS", ""),
        ("ROOMS_QUERY", query.as_str()),
        ("DATABASE_URL", url.as_str()),
    ];
    let out = run_cli(&env, &["mint", "--sub", "alice"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        decode(stdout(&out).trim()).permissions.rooms,
        ["document-1"]
    );

    let out = run_cli(&env, &["mint", "--sub", "alice", "--rooms", "document-1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        decode(stdout(&out).trim()).permissions.rooms,
        ["document-1"]
    );

    for rooms in ["document-3", "document-1,document-3"] {
        let out = run_cli(&env, &["mint", "--sub", "alice", "--rooms", rooms]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stdout(&out).is_empty(), "no token for {rooms}");
        assert!(stderr(&out).contains("document-3"), "{}", stderr(&out));
    }
    let out = run_cli(&env, &["mint", "--sub", "carol"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());

    // The database down: no token, a failure that says why.
    let closed = format!("postgres://postgres@127.0.0.1:{}/test", free_port());
    let down = [
        ("ROOMS_QUERY", query.as_str()),
        ("ROOMS_DATABASE_URL", closed.as_str()),
        ("ROOMS_TIMEOUT", "500ms"),
    ];
    let out = run_cli(&down, &["mint", "--sub", "alice", "--rooms", "document-1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("rooms unavailable"),
        "{}",
        stderr(&out)
    );
}

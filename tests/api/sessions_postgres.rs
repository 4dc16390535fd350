//! The `postgres` backend against the real PostgreSQL (connect-pg-simple's table).

use serde_json::json;

use crate::support::*;

fn postgres_env<'a>(table: &'a SessionTable, url: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("SESSION_BACKEND", "postgres"),
        ("DATABASE_URL", url),
        ("SESSION_PG_TABLE", &table.name),
    ]
}

#[tokio::test]
async fn a_stored_session_yields_a_token_and_expired_or_deleted_ones_do_not() {
    let fx = SessionTable::create().await;
    let url = database_url();
    let mut env = postgres_env(&fx, &url);
    env.extend([
        ("SESSION_ATTRIBUTES", "org=/org"),
        ("REALTIME_ROOMS", "user-{sub},org-{org}-*"),
    ]);
    let app = spawn_app_with(&env).await;

    fx.put(
        "pg-alice",
        json!({"cookie": {"originalMaxAge": 86400000}, "userId": "alice", "org": "acme"}),
        3600,
    )
    .await;
    let (_, claims) = expect_token(app.post_token(Some(&express_cookie("pg-alice"))).await).await;
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.permissions.rooms, ["user-alice", "org-acme-*"]);
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A row whose `expire` has passed (connect-pg-simple prunes lazily).
    fx.put("pg-old", json!({"cookie": {}, "userId": "alice"}), -60)
        .await;
    app.expect_unauthenticated(&express_cookie("pg-old")).await;
    // No row, a row without a user, a deleted row.
    app.expect_unauthenticated(&express_cookie("pg-none")).await;
    fx.put("pg-anon", json!({"cookie": {}}), 3600).await;
    app.expect_unauthenticated(&express_cookie("pg-anon")).await;
    fx.delete("pg-alice").await;
    app.expect_unauthenticated(&express_cookie("pg-alice"))
        .await;
}

#[tokio::test]
async fn postgres_down_gives_503_and_tokens_flow_again_when_it_returns() {
    let fx = SessionTable::create().await;
    let proxy = FaultProxy::start("127.0.0.1:5432").await;
    let url = database_url().replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1);
    assert!(
        url.contains(&proxy.port.to_string()),
        "DATABASE_URL must name 127.0.0.1:5432 for this test: {url}"
    );
    let mut env = postgres_env(&fx, &url);
    env.push(("SESSION_LOOKUP_TIMEOUT", "500ms"));
    let app = spawn_app_with(&env).await;
    fx.put("pg-f", json!({"cookie": {}, "userId": "alice"}), 3600)
        .await;
    let cookie = express_cookie("pg-f");
    expect_token(app.post_token(Some(&cookie)).await).await;

    proxy.set(ProxyMode::Down);
    let res = app.post_token(Some(&cookie)).await;
    assert!(res.headers().get("retry-after").is_some());
    expect_error(res, 503, "session_backend_unavailable").await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);

    proxy.set(ProxyMode::Up);
    expect_token(eventually_status(&app, &cookie, 200).await).await;

    proxy.set(ProxyMode::Hang);
    expect_error(
        app.post_token(Some(&cookie)).await,
        503,
        "session_backend_unavailable",
    )
    .await;
}

#[tokio::test]
async fn readyz_checks_that_the_session_lookup_can_run() {
    use deadpool_postgres::tokio_postgres::{connect, NoTls};
    // A table that does not exist yet: every lookup would fail.
    let table = unique("missing_");
    let url = database_url();
    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "postgres"),
        ("DATABASE_URL", &url),
        ("SESSION_PG_TABLE", &table),
    ])
    .await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    expect_error(ready, 503, "session_backend_unavailable").await;

    let (client, connection) = connect(&url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} (sid varchar PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)"
        ))
        .await
        .unwrap();
    // Answers are reused for about a second; then the check sees the table.
    app.eventually_ready().await;
    client
        .batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}

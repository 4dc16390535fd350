//! The `postgres` backend against the real PostgreSQL (connect-pg-simple's table).

use deadpool_postgres::tokio_postgres::{self, NoTls};
use serde_json::json;

use crate::helpers::*;

struct PgFixture {
    table: String,
    client: tokio_postgres::Client,
}

impl PgFixture {
    async fn new() -> Self {
        let (client, connection) = tokio_postgres::connect(&database_url(), NoTls)
            .await
            .expect("PostgreSQL must be running for these tests (DATABASE_URL)");
        tokio::spawn(connection);
        let table = unique("session_");
        // connect-pg-simple's table.sql
        client
            .batch_execute(&format!(
                "CREATE TABLE {table} (sid varchar NOT NULL COLLATE \"default\" PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL);
                 CREATE INDEX ON {table} (expire);"
            ))
            .await
            .unwrap();
        Self { table, client }
    }

    async fn put(&self, sid: &str, sess: serde_json::Value, expires_in_secs: i64) {
        self.client
            .execute(
                &format!(
                    "INSERT INTO {} (sid, sess, expire) VALUES ($1, $2::text::json, to_timestamp(extract(epoch from now()) + $3::bigint))
                     ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expire = excluded.expire",
                    self.table
                ),
                &[&sid, &sess.to_string(), &expires_in_secs],
            )
            .await
            .unwrap();
    }

    async fn delete(&self, sid: &str) {
        self.client
            .execute(
                &format!("DELETE FROM {} WHERE sid = $1", self.table),
                &[&sid],
            )
            .await
            .unwrap();
    }

    fn env<'a>(&'a self, url: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("SESSION_BACKEND", "postgres"),
            ("DATABASE_URL", url),
            ("SESSION_PG_TABLE", &self.table),
        ]
    }
}

impl Drop for PgFixture {
    fn drop(&mut self) {
        let table = std::mem::take(&mut self.table);
        let url = database_url();
        // Best effort clean-up on a separate connection; the test is over.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok((c, conn)) = tokio_postgres::connect(&url, NoTls).await {
                    tokio::spawn(conn);
                    let _ = c
                        .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
                        .await;
                }
            });
        })
        .join()
        .ok();
    }
}

#[tokio::test]
async fn a_stored_session_yields_a_token_and_expired_or_deleted_ones_do_not() {
    let fx = PgFixture::new().await;
    let url = database_url();
    let mut env = fx.env(&url);
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
    expect_error(
        app.post_token(Some(&express_cookie("pg-old"))).await,
        401,
        "unauthenticated",
    )
    .await;
    // No row, a row without a user, a deleted row.
    expect_error(
        app.post_token(Some(&express_cookie("pg-none"))).await,
        401,
        "unauthenticated",
    )
    .await;
    fx.put("pg-anon", json!({"cookie": {}}), 3600).await;
    expect_error(
        app.post_token(Some(&express_cookie("pg-anon"))).await,
        401,
        "unauthenticated",
    )
    .await;
    fx.delete("pg-alice").await;
    expect_error(
        app.post_token(Some(&express_cookie("pg-alice"))).await,
        401,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn postgres_down_gives_503_and_tokens_flow_again_when_it_returns() {
    let fx = PgFixture::new().await;
    let proxy = FaultProxy::start("127.0.0.1:5432").await;
    let url = database_url().replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1);
    assert!(
        url.contains(&proxy.port.to_string()),
        "DATABASE_URL must name 127.0.0.1:5432 for this test: {url}"
    );
    let mut env = fx.env(&url);
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
    expect_token(eventually_status(&app, &cookie, 200, 5).await).await;

    proxy.set(ProxyMode::Hang);
    expect_error(
        app.post_token(Some(&cookie)).await,
        503,
        "session_backend_unavailable",
    )
    .await;
}

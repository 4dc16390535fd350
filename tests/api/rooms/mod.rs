//! Rooms from the app's own data (`ROOMS_QUERY`, ...), against the real
//! PostgreSQL: each test in a schema of its own.

use std::time::Duration;

use deadpool_postgres::tokio_postgres::{connect, Client, NoTls};
use realtime_token::session::{codec::CookieSigner, cookies::percent_encode};

use crate::support::*;

mod cache;
mod examples;
mod minting;
mod property;
mod query;
mod redis_set;
mod startup;
mod url;

/// A schema of this test's own with a `memberships(user_id text,
/// document_id bigint)` table, dropped at the end.
pub struct Memberships {
    pub schema: PgSchema,
    client: Client,
}

impl Memberships {
    pub async fn create() -> Self {
        let (client, connection) = connect(&database_url(), NoTls)
            .await
            .expect("PostgreSQL must be running for these tests (DATABASE_URL)");
        tokio::spawn(connection);
        let schema = PgSchema::unique("rooms_");
        client
            .batch_execute(&format!(
                "CREATE SCHEMA {s};
                 CREATE TABLE {s}.memberships (user_id text NOT NULL, document_id bigint NOT NULL,
                     PRIMARY KEY (user_id, document_id));",
                s = schema.name
            ))
            .await
            .unwrap();
        Self { schema, client }
    }

    /// The query of the docs: the member's documents, only the requested
    /// ones when the request names some.
    pub fn query(&self) -> String {
        format!(
            "select 'document-' || document_id from {}.memberships \
             where user_id = $1 and ($2::text[] is null or 'document-' || document_id = any($2)) \
             order by document_id",
            self.schema.name
        )
    }

    pub async fn add(&self, user: &str, document: i64) {
        self.client
            .execute(
                &format!(
                    "INSERT INTO {}.memberships VALUES ($1, $2)",
                    self.schema.name
                ),
                &[&user, &document],
            )
            .await
            .unwrap();
    }

    pub async fn remove(&self, user: &str, document: i64) {
        self.client
            .execute(
                &format!(
                    "DELETE FROM {}.memberships WHERE user_id = $1 AND document_id = $2",
                    self.schema.name
                ),
                &[&user, &document],
            )
            .await
            .unwrap();
    }

    /// Runs `sql` with `{s}` standing for the schema.
    pub async fn execute(&self, sql: &str) {
        let sql = sql.replace("{s}", &self.schema.name);
        self.client.batch_execute(&sql).await.unwrap();
    }

    /// Whether `{s}.<table>` exists.
    pub async fn exists(&self, table: &str) -> bool {
        let name = format!("{}.{table}", self.schema.name);
        let row = self
            .client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
            .await
            .unwrap();
        row.get(0)
    }
}

/// The service with `query` as `ROOMS_QUERY` on the test database and no
/// env grants, then `extra` (which may set them, or another database).
pub async fn serve_query(query: &str, extra: &[(&str, &str)]) -> TestApp {
    let url = database_url();
    let mut env = vec![
        ("REALTIME_ROOMS", ""),
        ("ROOMS_QUERY", query),
        ("DATABASE_URL", url.as_str()),
    ];
    env.extend_from_slice(extra);
    spawn_app_with(&env).await
}

/// A signed-cookie session for `sub` (the test secret), for servers run as
/// a process.
pub fn session_cookie(sub: &str) -> String {
    let signer = CookieSigner::new([SESSION_SECRET]);
    format!("session={}", percent_encode(&signer.sign(sub)))
}

/// `database_url()` through `proxy` (the URL must name 127.0.0.1:5432).
pub fn via(proxy: &FaultProxy) -> String {
    let url = database_url().replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1);
    assert!(
        url.contains(&proxy.port.to_string()),
        "DATABASE_URL must name 127.0.0.1:5432 for this test: {url}"
    );
    url
}

/// The rooms of a 200 answer.
pub async fn rooms_of(res: reqwest::Response) -> Vec<String> {
    expect_token(res).await.1.permissions.rooms
}

/// The settings of a load run: a short ROOMS_TIMEOUT, no rate limits, two
/// workers.
pub const LOAD_ENV: &[(&str, &str)] = &[
    ("ROOMS_TIMEOUT", "300ms"),
    ("RATE_LIMIT_IP", "off"),
    ("RATE_LIMIT_SUBJECT", "off"),
    ("WORKERS", "2"),
];

/// Takes the source behind `proxy` down during a load run with `cookie`,
/// then back up: only 200 or 503 meanwhile, no token sent after the outage
/// began and answered before it ended, tokens again after it.
pub async fn outage_under_load(app: &TestApp, proxy: &FaultProxy, cookie: &str) {
    let load = Load::start(&app.client, &app.url("/api/realtime-token"), cookie, 8);
    load.wait_for("tokens before the outage", |r| r.2 == 200, 50)
        .await;
    let down_at = load.elapsed();
    proxy.set(ProxyMode::Down);
    load.wait_for(
        "503s during the outage",
        |r| r.0 > down_at && r.2 == 503,
        20,
    )
    .await;
    let up_at = load.elapsed();
    proxy.set(ProxyMode::Up);
    load.wait_for("tokens after the outage", |r| r.0 > up_at && r.2 == 200, 50)
        .await;
    let results = load.stop().await;

    let unexpected: Vec<_> = results
        .iter()
        .filter(|r| r.2 != 200 && r.2 != 503)
        .collect();
    assert!(unexpected.is_empty(), "only 200 or 503: {unexpected:?}");
    // Sent after the outage began and answered before it ended: no token.
    let during = results
        .iter()
        .filter(|r| r.0 > down_at + Duration::from_millis(50) && r.1 < up_at && r.2 == 200)
        .count();
    assert_eq!(during, 0, "tokens were issued while the source was down");
}

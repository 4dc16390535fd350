//! connect-pg-simple: `SELECT sess FROM <table> WHERE sid = $1`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt as _};

use super::SessionStore;

/// connect-pg-simple sessions: one prepared query per lookup on a pool.
pub struct PostgresStore {
    pool: deadpool_postgres::Pool,
    query: Arc<str>,
}

impl PostgresStore {
    /// A pool that connects on demand.
    pub fn new(url: &str, table: &str, timeout: Duration) -> Result<Self, String> {
        let mut pg: deadpool_postgres::tokio_postgres::Config =
            url.parse().map_err(|e| format!("DATABASE_URL: {e}"))?;
        pg.connect_timeout(timeout);
        pg.application_name("realtime-token");
        let manager = deadpool_postgres::Manager::from_config(
            pg,
            deadpool_postgres::tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(|e| format!("DATABASE_URL: {e}"))?;
        // The table name was validated as [schema.]identifier at start-up.
        let query =
            format!("SELECT sess::text FROM {table} WHERE sid = $1 AND expire >= now()").into();
        Ok(Self { pool, query })
    }
}

impl SessionStore for PostgresStore {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn load(&self, sid: String) -> BoxFuture<'static, Result<Option<String>, String>> {
        let pool = self.pool.clone();
        let query = self.query.clone();
        async move {
            let client = pool.get().await.map_err(|e| format!("postgres: {e}"))?;
            let statement = client
                .prepare_cached(&query)
                .await
                .map_err(|e| format!("postgres: {e}"))?;
            let row = client
                .query_opt(&statement, &[&sid])
                .await
                .map_err(|e| format!("postgres: {e}"))?;
            Ok(row.map(|r| r.get::<_, String>(0)))
        }
        .boxed()
    }

    /// Prepares the lookup query itself: PostgreSQL checks that the table
    /// and its columns exist, which `SELECT 1` would not.
    fn ping(&self) -> BoxFuture<'static, Result<(), String>> {
        let pool = self.pool.clone();
        let query = self.query.clone();
        async move {
            let client = pool.get().await.map_err(|e| format!("postgres: {e}"))?;
            client
                .prepare_cached(&query)
                .await
                .map(|_| ())
                .map_err(|e| format!("postgres: the session lookup cannot run: {e}"))
        }
        .boxed()
    }
}

//! Sessions in PostgreSQL: `SELECT <data> FROM <table> WHERE <id> = $1`
//! and the row is live, for connect-pg-simple's, Django's and better-auth's
//! tables. The table is aliased `stored`, so `data` may read the whole row.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt as _};

use super::pg_tls;
use super::SessionStore;
use crate::session::StoreSettings;

/// The columns of a session table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgColumns {
    /// The session id column.
    pub id: &'static str,
    /// The session data column, or an SQL expression over the row aliased
    /// `stored` (read as text).
    pub data: &'static str,
    /// The condition that keeps only live rows.
    pub live: &'static str,
}

impl PgColumns {
    /// connect-pg-simple: `session(sid, sess json, expire timestamp)`.
    pub const CONNECT_PG_SIMPLE: Self = Self {
        id: "sid",
        data: "sess",
        live: "expire >= now()",
    };
    /// Django's `db` engine: `django_session(session_key, session_data,
    /// expire_date)`, live while `expire_date > now()` as Django checks it.
    pub const DJANGO: Self = Self {
        id: "session_key",
        data: "session_data",
        live: "expire_date > now()",
    };
    /// better-auth's PostgreSQL (Kysely) adapter: `session(id, "expiresAt",
    /// token, "createdAt", "updatedAt", "ipAddress", "userAgent", "userId",
    /// ...)`, looked up by `token` as its `findSession` does, live while
    /// `"expiresAt" > now()`. The document is the whole row (additional
    /// fields and plugin columns such as `activeOrganizationId` included)
    /// as JSON without the token.
    pub const BETTER_AUTH: Self = Self {
        id: "\"token\"",
        data: "(to_jsonb(stored) - 'token')",
        live: "\"expiresAt\" > now()",
    };
}

/// Sessions in a PostgreSQL table: one prepared query per lookup on a pool.
pub struct PostgresStore {
    pool: deadpool_postgres::Pool,
    query: Arc<str>,
}

impl PostgresStore {
    /// The store `settings` (a [`StoreSettings::Postgres`]) name, with a
    /// table of these `columns`.
    pub fn from_settings(
        settings: &StoreSettings,
        columns: PgColumns,
        timeout: Duration,
    ) -> Result<Self, String> {
        let (pool, table) = pg_pool(settings, timeout)?;
        // The table name was validated as [schema.]identifier at start-up.
        let PgColumns { id, data, live } = columns;
        let query =
            format!("SELECT {data}::text FROM {table} AS stored WHERE {id} = $1 AND {live}").into();
        Ok(Self { pool, query })
    }
}

/// A pool on the database `settings` (a [`StoreSettings::Postgres`]) name,
/// with its table: it connects on demand, over TLS as the URL's `sslmode`
/// and `sslrootcert` ask (libpq's meanings), each connection within
/// `timeout`.
pub fn pg_pool(
    settings: &StoreSettings,
    timeout: Duration,
) -> Result<(deadpool_postgres::Pool, &str), String> {
    let StoreSettings::Postgres {
        url,
        table,
        ssl_mode,
        root_pem,
    } = settings
    else {
        return Err("SESSION_BACKEND: this backend needs DATABASE_URL".into());
    };
    let mut pg: deadpool_postgres::tokio_postgres::Config = url
        .expose()
        .parse()
        .map_err(|e| format!("DATABASE_URL: {e}"))?;
    pg.connect_timeout(timeout);
    pg.application_name("realtime-token");
    let manager = deadpool_postgres::Manager::from_config(
        pg,
        pg_tls::connector(*ssl_mode, root_pem.as_deref())?,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(16)
        .build()
        .map_err(|e| format!("DATABASE_URL: {e}"))?;
    Ok((pool, table))
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

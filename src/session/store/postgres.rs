//! Sessions in PostgreSQL: `SELECT <data> FROM <table> WHERE <id> = $1`
//! and the row is live, for connect-pg-simple's, Django's and better-auth's
//! tables. The table is aliased `stored`, so `data` may read the whole row.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::tokio_postgres::error::SqlState;
use futures_util::future::{BoxFuture, FutureExt as _};

use super::pg_pool::{pool_from_settings, NEEDS_DATABASE};
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
    /// How the table comes to exist, for the error when it does not.
    pub made_by: &'static str,
}

impl PgColumns {
    /// connect-pg-simple: `session(sid, sess json, expire timestamp)`.
    pub const CONNECT_PG_SIMPLE: Self = Self {
        id: "sid",
        data: "sess",
        live: "expire >= now()",
        made_by:
            "create it with connect-pg-simple's table.sql (or its createTableIfMissing option)",
    };
    /// Django's `db` engine: `django_session(session_key, session_data,
    /// expire_date)`, live while `expire_date > now()` as Django checks it.
    pub const DJANGO: Self = Self {
        id: "session_key",
        data: "session_data",
        live: "expire_date > now()",
        made_by: "run `python manage.py migrate` (with django.contrib.sessions in INSTALLED_APPS) on this database",
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
        made_by: "run `npx @better-auth/cli migrate` on this database",
    };
}

/// Sessions in a PostgreSQL table: one prepared query per lookup on a pool.
pub struct PostgresStore {
    pool: deadpool_postgres::Pool,
    query: Arc<str>,
    table: Arc<str>,
    /// How the table comes to exist ([`PgColumns::made_by`]).
    made_by: &'static str,
}

/// Whether `name` is a table name this service puts into SQL:
/// `[schema.]identifier` of letters, digits and `_`.
pub fn is_table_name(name: &str) -> bool {
    name.split('.').count() <= 2
        && name.split('.').all(|part| {
            !part.is_empty()
                && !part.starts_with(|c: char| c.is_ascii_digit())
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

/// `e` as a log message; a missing table is named, with `var` (the setting
/// that names it) and `made_by` (how it comes to exist) as the fix.
pub fn describe_error(
    e: &deadpool_postgres::tokio_postgres::Error,
    table: &str,
    var: &str,
    made_by: &str,
) -> String {
    match e.code() {
        Some(&SqlState::UNDEFINED_TABLE) => format!(
            "postgres: table `{table}` does not exist ({var}): {made_by}, or set {var} to the schema.table that holds it"
        ),
        _ => format!("postgres: {e}"),
    }
}

impl PostgresStore {
    /// The store `settings` (a [`StoreSettings::Postgres`]) name, with a
    /// table of these `columns`.
    pub fn from_settings(
        settings: &StoreSettings,
        columns: PgColumns,
        timeout: Duration,
    ) -> Result<Self, String> {
        let StoreSettings::Postgres { table, .. } = settings else {
            return Err(NEEDS_DATABASE.into());
        };
        Ok(Self::with_pool(
            pool_from_settings(settings, timeout)?,
            table,
            columns,
        ))
    }

    /// The sessions in `table` (of these `columns`) on `pool`.
    pub fn with_pool(pool: deadpool_postgres::Pool, table: &str, columns: PgColumns) -> Self {
        // The table name was validated as [schema.]identifier at start-up.
        let PgColumns {
            id,
            data,
            live,
            made_by,
        } = columns;
        let query =
            format!("SELECT {data}::text FROM {table} AS stored WHERE {id} = $1 AND {live}").into();
        Self {
            pool,
            query,
            table: table.into(),
            made_by,
        }
    }

    /// What a lookup needs, for a `'static` future: the pool, the query,
    /// and how to describe an error.
    fn parts(
        &self,
    ) -> (
        deadpool_postgres::Pool,
        Arc<str>,
        impl Fn(deadpool_postgres::tokio_postgres::Error) -> String,
    ) {
        let (table, made_by) = (self.table.clone(), self.made_by);
        let describe = move |e| describe_error(&e, &table, "SESSION_PG_TABLE", made_by);
        (self.pool.clone(), self.query.clone(), describe)
    }
}

impl SessionStore for PostgresStore {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn load(&self, sid: String) -> BoxFuture<'static, Result<Option<String>, String>> {
        let (pool, query, describe) = self.parts();
        async move {
            let client = pool.get().await.map_err(|e| format!("postgres: {e}"))?;
            let statement = client.prepare_cached(&query).await.map_err(&describe)?;
            let row = client
                .query_opt(&statement, &[&sid])
                .await
                .map_err(describe)?;
            Ok(row.map(|r| r.get::<_, String>(0)))
        }
        .boxed()
    }

    /// Prepares the lookup query itself: PostgreSQL checks that the table
    /// and its columns exist, which `SELECT 1` would not.
    fn ping(&self) -> BoxFuture<'static, Result<(), String>> {
        let (pool, query, describe) = self.parts();
        async move {
            let client = pool.get().await.map_err(|e| format!("postgres: {e}"))?;
            client
                .prepare_cached(&query)
                .await
                .map(|_| ())
                .map_err(|e| format!("the session lookup cannot run: {}", describe(e)))
        }
        .boxed()
    }
}

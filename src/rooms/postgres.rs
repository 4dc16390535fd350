//! `ROOMS_QUERY`: the app's own SQL, run per token request on PostgreSQL
//! with the subject as `$1` (text) and the requested rooms as `$2`
//! (`text[]`, NULL when none are named), always bound, never substituted.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::tokio_postgres::types::{FromSql, ToSql, Type};
use deadpool_postgres::tokio_postgres::Error as PgError;
use futures_util::future::{BoxFuture, FutureExt as _};
use futures_util::TryStreamExt as _;

use super::{Ask, QuerySettings, RoomSource, SourceCheck, MAX_SOURCE_VALUES};
use crate::session::store::PgPools;

/// The parameters' types, declared: `$1::bigint` is then a cast of the
/// text subject, and a query that compares `$1` with a number column
/// without one fails at start-up instead of at every request.
const PARAMS: [Type; 2] = [Type::TEXT, Type::TEXT_ARRAY];

/// Grants from a PostgreSQL query.
pub struct QuerySource {
    pool: deadpool_postgres::Pool,
    query: Arc<str>,
}

impl QuerySource {
    /// The query `settings` name, on the pool `pools` holds for its
    /// database (connecting within `timeout`).
    pub fn new(
        settings: &QuerySettings,
        pools: &PgPools,
        timeout: Duration,
    ) -> Result<Self, String> {
        Ok(Self {
            pool: pools.pool(&settings.database, settings.database_var, timeout)?,
            query: settings.query.as_str().into(),
        })
    }
}

/// A pooled connection that is closed, not put back, unless the lookup
/// finished: a query cut short by `ROOMS_TIMEOUT` may still be running on
/// it, and the next lookup would wait behind it.
struct Checkout(Option<deadpool_postgres::Client>);

impl Checkout {
    fn client(&self) -> &deadpool_postgres::Client {
        self.0.as_ref().expect("present until dropped")
    }

    /// The lookup finished: the connection goes back to the pool.
    fn finish(mut self) {
        drop(self.0.take());
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

fn failed(e: PgError) -> String {
    match e.as_db_error() {
        Some(db) => format!("ROOMS_QUERY: postgres: {}", db.message()),
        None => format!("ROOMS_QUERY: postgres: {e}"),
    }
}

impl RoomSource for QuerySource {
    fn var(&self) -> &'static str {
        "ROOMS_QUERY"
    }

    fn lookup(&self, ask: Ask<'_>) -> BoxFuture<'static, Result<Vec<String>, String>> {
        let (pool, query) = (self.pool.clone(), self.query.clone());
        let sub = ask.principal.sub.clone();
        let requested = ask.requested.map(<[String]>::to_vec);
        async move {
            let client = pool
                .get()
                .await
                .map_err(|e| format!("ROOMS_QUERY: postgres: {e}"))?;
            let checkout = Checkout(Some(client));
            let client = checkout.client();
            let statement = client
                .prepare_typed_cached(&query, &PARAMS)
                .await
                .map_err(failed)?;
            let params: [&(dyn ToSql + Sync); 2] = [&sub, &requested];
            let rows = client
                .query_raw(&statement, params)
                .await
                .map_err(failed)?;
            let mut rows = std::pin::pin!(rows);
            let mut values = Vec::new();
            while let Some(row) = rows.try_next().await.map_err(failed)? {
                if values.len() == MAX_SOURCE_VALUES {
                    return Err(format!(
                        "ROOMS_QUERY returned more than {MAX_SOURCE_VALUES} rows; filter them by the requested rooms ($2)"
                    ));
                }
                // NULL becomes "", dropped (and counted) as not a pattern.
                let value: Option<String> = row.try_get(0).map_err(failed)?;
                values.push(value.unwrap_or_default());
            }
            checkout.finish();
            Ok(values)
        }
        .boxed()
    }

    /// Prepares the query: PostgreSQL checks its tables, columns and types
    /// without running it.
    fn check(&self) -> BoxFuture<'static, Result<(), SourceCheck>> {
        let (pool, query) = (self.pool.clone(), self.query.clone());
        async move {
            let client = pool
                .get()
                .await
                .map_err(|e| SourceCheck::Unreachable(format!("ROOMS_QUERY: postgres: {e}")))?;
            let statement = client
                .prepare_typed_cached(&query, &PARAMS)
                .await
                .map_err(|e| match e.as_db_error() {
                    Some(db) => SourceCheck::Invalid(format!(
                        "ROOMS_QUERY: PostgreSQL cannot prepare it: {}{}; write a query of one text column with $1 (the subject, text) and optionally $2 (the requested rooms, text[])",
                        db.message(),
                        db.hint().map(|h| format!(" (hint: {h})")).unwrap_or_default(),
                    )),
                    None => SourceCheck::Unreachable(format!("ROOMS_QUERY: postgres: {e}")),
                })?;
            match statement.columns() {
                [column] if <String as FromSql>::accepts(column.type_()) => Ok(()),
                [column] => Err(SourceCheck::Invalid(format!(
                    "ROOMS_QUERY returns a column of type {}; return text, e.g. `select 'document-' || document_id ...` or `::text`",
                    column.type_()
                ))),
                columns => Err(SourceCheck::Invalid(format!(
                    "ROOMS_QUERY returns {} columns; return exactly one text column (the room or pattern)",
                    columns.len()
                ))),
            }
        }
        .boxed()
    }
}

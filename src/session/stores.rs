//! Store-backed sessions: the cookie holds a session id; the session JSON
//! lives in Redis (connect-redis) or PostgreSQL (connect-pg-simple).

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpRequest;
use futures_util::future::{BoxFuture, FutureExt as _};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::cache::{self, cache_key, CacheMetrics, LookupCache};
use super::store::{SessionIdCookie, SessionReader};
use super::SessionConfig;
use super::{AuthFuture, Principal, SessionAuthenticator, SessionError};
use crate::token::unix_now;

/// Where session JSON is kept, by session id.
pub trait SessionStore: Send + Sync + 'static {
    /// The backend's name for messages.
    fn name(&self) -> &'static str;
    /// The session JSON for `sid`, `None` when there is no such (live) session.
    fn load(&self, sid: String) -> BoxFuture<'static, Result<Option<String>, String>>;
    /// Checks the store answers.
    fn ping(&self) -> BoxFuture<'static, Result<(), String>>;
}

struct Inner {
    store: Box<dyn SessionStore>,
    reader: SessionReader,
    timeout: Duration,
}

impl Inner {
    async fn lookup(self: Arc<Self>, sid: String) -> Result<Principal, SessionError> {
        let name = self.store.name();
        let json = tokio::time::timeout(self.timeout, self.store.load(sid))
            .await
            .map_err(|_| {
                SessionError::Unavailable(format!(
                    "{name} lookup timed out after {:?}",
                    self.timeout
                ))
            })?
            .map_err(SessionError::Unavailable)?
            .ok_or(SessionError::Unauthenticated("no such session"))?;
        self.reader.session_principal(&json, unix_now())
    }
}

/// Authenticates by looking the cookie's session id up in a [`SessionStore`].
pub struct StoreAuthenticator {
    cookie: SessionIdCookie,
    inner: Arc<Inner>,
    cache: Option<LookupCache>,
}

impl StoreAuthenticator {
    /// An authenticator over `store` with the session settings.
    pub fn new(
        store: Box<dyn SessionStore>,
        config: &SessionConfig,
        cache_metrics: CacheMetrics,
    ) -> Self {
        Self {
            cookie: SessionIdCookie::new(config),
            inner: Arc::new(Inner {
                store,
                reader: SessionReader::new(config),
                timeout: config.lookup_timeout,
            }),
            cache: LookupCache::from_config(config, cache_metrics),
        }
    }
}

impl SessionAuthenticator for StoreAuthenticator {
    fn authenticate<'a>(&'a self, req: &'a HttpRequest) -> AuthFuture<'a> {
        let sid = match self.cookie.session_id(req) {
            Ok(sid) => sid,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let inner = self.inner.clone();
        cache::through(
            self.cache.as_ref(),
            cache::owner(req),
            sid,
            |sid| cache_key(&[sid.as_bytes()]),
            |sid| inner.lookup(sid),
        )
    }

    fn ready(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), SessionError>> + '_>> {
        let name = self.inner.store.name();
        let ping = tokio::time::timeout(self.inner.timeout, self.inner.store.ping());
        Box::pin(async move {
            ping.await
                .map_err(|_| SessionError::Unavailable(format!("{name} ping timed out")))?
                .map_err(SessionError::Unavailable)
        })
    }
}

/// connect-redis sessions: `GET <prefix><sid>` over one multiplexed,
/// self-reconnecting connection per worker thread (so a lookup never hops
/// to another thread's runtime).
pub struct RedisStore {
    id: usize,
    client: redis::Client,
    config: ConnectionManagerConfig,
    prefix: String,
}

thread_local! {
    // This thread's connection for each RedisStore (by id), made on first use.
    static REDIS_CONNECTIONS: RefCell<Vec<(usize, ConnectionManager)>> = const { RefCell::new(Vec::new()) };
}

static NEXT_STORE_ID: AtomicUsize = AtomicUsize::new(0);

impl RedisStore {
    /// Checks the URL; connections are made lazily, one per worker thread,
    /// on that thread's runtime.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("REDIS_URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // Retry briefly: the request is bounded by the lookup timeout, and
            // a quick retry lets tokens flow again soon after Redis returns.
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        Ok(Self {
            id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
            client,
            config,
            prefix: prefix.to_owned(),
        })
    }

    /// This thread's connection (created lazily, within its Tokio runtime).
    fn connection(&self) -> Result<ConnectionManager, String> {
        REDIS_CONNECTIONS.with(|conns| {
            let mut conns = conns.borrow_mut();
            if let Some((_, conn)) = conns.iter().find(|(id, _)| *id == self.id) {
                return Ok(conn.clone());
            }
            let conn =
                ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
                    .map_err(|e| format!("redis: {e}"))?;
            conns.push((self.id, conn.clone()));
            Ok(conn)
        })
    }
}

impl SessionStore for RedisStore {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn load(&self, sid: String) -> BoxFuture<'static, Result<Option<String>, String>> {
        let conn = self.connection();
        let key = format!("{}{sid}", self.prefix);
        async move {
            let mut conn = conn?;
            redis::cmd("GET")
                .arg(key)
                .query_async::<Option<String>>(&mut conn)
                .await
                .map_err(|e| format!("redis: {e}"))
        }
        .boxed()
    }

    fn ping(&self) -> BoxFuture<'static, Result<(), String>> {
        let conn = self.connection();
        async move {
            let mut conn = conn?;
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map(|_| ())
                .map_err(|e| format!("redis: {e}"))
        }
        .boxed()
    }
}

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

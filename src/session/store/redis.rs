//! connect-redis: `GET <prefix><sid>`, over TCP or TLS (`rediss://`).

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt as _};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::SessionStore;

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
    /// on that thread's runtime. A `rediss://` URL speaks TLS (rustls) and
    /// verifies the server against `ca_pem` when given, else the system's
    /// roots; `#insecure` at its end skips verification.
    pub fn new(
        url: &str,
        ca_pem: Option<&[u8]>,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Self, String> {
        let client = match ca_pem {
            None => redis::Client::open(url),
            Some(pem) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.to_vec()),
                },
            ),
        }
        .map_err(|e| format!("REDIS_URL: {e}"))?;
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

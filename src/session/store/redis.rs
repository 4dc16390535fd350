//! connect-redis: `GET <prefix><sid>`, over TCP or TLS (`rediss://`).

use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt as _};

use super::SessionStore;
use crate::redis_conn::RedisConnections;

/// connect-redis sessions: `GET <prefix><sid>` over one multiplexed,
/// self-reconnecting connection per worker thread.
pub struct RedisStore {
    connections: RedisConnections,
    prefix: String,
}

impl RedisStore {
    /// Checks the URL (see [`RedisConnections::new`]); connections are made
    /// lazily.
    pub fn new(
        url: &str,
        ca_pem: Option<&[u8]>,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Self, String> {
        Ok(Self {
            connections: RedisConnections::new("REDIS_URL", url, ca_pem, timeout)?,
            prefix: prefix.to_owned(),
        })
    }

    fn connection(&self) -> Result<redis::aio::ConnectionManager, String> {
        self.connections.connection()
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

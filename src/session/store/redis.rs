//! connect-redis: `GET <prefix><sid>`, over TCP or TLS (`rediss://`); with
//! shared rate limits on the same Redis, in one script with their checks.

use std::sync::Arc;

use futures_util::future::{BoxFuture, FutureExt as _};

use super::SessionStore;
use crate::address::ClientAddr;
use crate::ratelimit::{FoldedLookup, RateLimits, SubjectHints};
use crate::redis_conn::RedisConnections;

/// connect-redis sessions: `GET <prefix><sid>` over one multiplexed,
/// self-reconnecting connection per worker thread.
pub struct RedisStore {
    connections: Arc<RedisConnections>,
    prefix: String,
}

impl RedisStore {
    /// Sessions at `<prefix><sid>` through `connections`.
    pub fn new(connections: RedisConnections, prefix: &str) -> Self {
        Self {
            connections: Arc::new(connections),
            prefix: prefix.to_owned(),
        }
    }

    /// Runs `cmd` on this thread's connection; a failure makes the next
    /// command look for the primary again (Sentinel).
    fn run<T: redis::FromRedisValue + Send + 'static>(
        &self,
        cmd: redis::Cmd,
    ) -> BoxFuture<'static, Result<T, String>> {
        let connections = self.connections.clone();
        async move {
            let mut conn = connections.connection().await?;
            cmd.query_async::<T>(&mut conn).await.map_err(|e| {
                connections.failed();
                format!("redis: {e}")
            })
        }
        .boxed()
    }
}

impl SessionStore for RedisStore {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn load(&self, sid: String) -> BoxFuture<'static, Result<Option<String>, String>> {
        let mut get = redis::cmd("GET");
        get.arg(format!("{}{sid}", self.prefix));
        self.run(get)
    }

    fn load_folded(
        &self,
        sid: &str,
        limits: &RateLimits,
        client: Option<ClientAddr>,
        hints: &SubjectHints,
    ) -> Option<BoxFuture<'static, Result<FoldedLookup, String>>> {
        let checks = limits.fold(self.connections.target(), client, sid, hints)?;
        let key = format!("{}{sid}", self.prefix);
        let connections = self.connections.clone();
        Some(
            async move {
                let mut conn = connections.connection().await?;
                checks.run(key, &mut conn).await.map_err(|e| {
                    connections.failed();
                    format!("redis: {e}")
                })
            }
            .boxed(),
        )
    }

    fn ping(&self) -> BoxFuture<'static, Result<(), String>> {
        let ping = self.run::<String>(redis::cmd("PING"));
        async move { ping.await.map(|_| ()) }.boxed()
    }
}

//! `ROOMS_REDIS_KEY`: the members of a Redis set the app maintains per user
//! (`SADD rooms:alice document-42`), on the service's Redis (TLS, Sentinel,
//! Cluster as `REDIS_URL` and its companions say).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{join_all, BoxFuture, FutureExt as _};

use super::{Ask, RedisSetSettings, RoomSource, SourceCheck, MAX_SOURCE_VALUES};
use crate::policy::Template;
use crate::redis_conn::RedisConnections;

/// Grants from Redis sets.
pub struct RedisSetSource {
    key: Template,
    connections: Arc<RedisConnections>,
}

impl RedisSetSource {
    /// The sets `settings` name; commands time out after `timeout`.
    pub fn new(settings: &RedisSetSettings, timeout: Duration) -> Result<Self, String> {
        let connections = RedisConnections::for_topology(
            "REDIS_URL",
            settings.url.expose(),
            settings.ca_pem.as_deref(),
            &settings.topology,
            timeout,
        )?;
        Ok(Self {
            key: settings.key.clone(),
            connections: Arc::new(connections),
        })
    }
}

impl RoomSource for RedisSetSource {
    fn var(&self) -> &'static str {
        "ROOMS_REDIS_KEY"
    }

    fn lookup(&self, ask: Ask<'_>) -> BoxFuture<'static, Result<Vec<String>, String>> {
        // A subject or attribute that cannot name a key (unsafe, or holding
        // its separator) names no set: no grants (the template logs it).
        let keys = self.key.expand_for(ask.principal);
        let connections = self.connections.clone();
        async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let conn = connections.connection().await?;
            // One SMEMBERS per key (each may live on another cluster node).
            let sets = join_all(keys.iter().map(|key| {
                let mut conn = conn.clone();
                async move {
                    redis::cmd("SMEMBERS")
                        .arg(key)
                        .query_async::<Vec<Vec<u8>>>(&mut conn)
                        .await
                }
            }))
            .await;
            let mut values = Vec::new();
            for set in sets {
                let members = set.map_err(|e| {
                    connections.failed();
                    format!("ROOMS_REDIS_KEY: redis: {e}")
                })?;
                if values.len() + members.len() > MAX_SOURCE_VALUES {
                    return Err(format!(
                        "ROOMS_REDIS_KEY: the user's sets hold more than {MAX_SOURCE_VALUES} members"
                    ));
                }
                // Not UTF-8: kept lossily, then dropped as not a pattern.
                values.extend(
                    members
                        .iter()
                        .map(|m| String::from_utf8_lossy(m).into_owned()),
                );
            }
            Ok(values)
        }
        .boxed()
    }

    fn check(&self) -> BoxFuture<'static, Result<(), SourceCheck>> {
        let connections = self.connections.clone();
        async move {
            let unreachable = |e: String| SourceCheck::Unreachable(format!("ROOMS_REDIS_KEY: {e}"));
            let mut conn = connections.connection().await.map_err(unreachable)?;
            redis::cmd("PING")
                .query_async::<()>(&mut conn)
                .await
                .map_err(|e| {
                    connections.failed();
                    unreachable(format!("redis: {e}"))
                })
        }
        .boxed()
    }
}

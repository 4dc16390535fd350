//! Buckets shared by every replica, in Redis (`RATE_LIMIT_STORE=redis`):
//! GCRA in one Lua script, so a check is one atomic round trip. Keys are
//! `rt:rl:<kind>:<key>` and expire once their bucket is full again, so
//! nothing accumulates.

use std::time::Duration;

use crate::redis_conn::RedisConnections;

use super::Rate;

/// GCRA: the theoretical arrival time (TAT) of the next request, in µs of
/// Redis's own clock (so replicas' clocks do not matter). Returns 0 when
/// allowed, else the µs to wait.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then return tat - tolerance - now end
local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000) + 1)
return 0
";

/// How long a shared check may take before the local buckets answer.
pub const SHARED_TIMEOUT: Duration = Duration::from_millis(250);

/// Shared buckets in Redis.
pub struct SharedBuckets {
    connections: RedisConnections,
    script: redis::Script,
}

impl SharedBuckets {
    /// Buckets in the Redis `connections` reach.
    pub fn new(connections: RedisConnections) -> Self {
        Self {
            connections,
            script: redis::Script::new(GCRA),
        }
    }

    /// `Ok(None)` when `key` of `kind` may pass under `rate`, `Ok(Some(wait))`
    /// when it is over, `Err` when Redis did not answer in time.
    pub async fn check(
        &self,
        kind: &str,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, String> {
        let mut conn = self.connections.connection().await?;
        let interval_us = (rate.period.as_micros() / u128::from(rate.count)).max(1) as u64;
        let mut invocation = self.script.key(format!("rt:rl:{kind}:{key}"));
        invocation.arg(interval_us).arg(rate.count);
        let wait_us =
            tokio::time::timeout(SHARED_TIMEOUT, invocation.invoke_async::<u64>(&mut conn))
                .await
                .map_err(|_| format!("redis: no answer in {SHARED_TIMEOUT:?}"))?
                .map_err(|e| {
                    self.connections.failed();
                    format!("redis: {e}")
                })?;
        Ok((wait_us > 0).then(|| Duration::from_micros(wait_us)))
    }
}

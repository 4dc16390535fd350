//! Buckets shared by every replica, in Redis (`RATE_LIMIT_STORE=redis`):
//! GCRA in one Lua script, so a check is one atomic round trip. Keys are
//! `rt:rl:<kind>:<key>` and expire once their bucket is full again, so
//! nothing accumulates.

use std::time::Duration;

use crate::redis_conn::RedisConnections;

use super::Rate;

/// GCRA as a Lua function: the theoretical arrival time (TAT) of the next
/// request, in µs of Redis's own clock (so replicas' clocks do not matter).
/// `gcra` returns 0 when allowed, else the µs to wait. Shared by the
/// scripts here and in `folded.rs`.
macro_rules! gcra_lua {
    () => {
        r"
local function gcra(key, interval, burst, now)
  local tolerance = interval * (burst - 1)
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  if tat - now > tolerance then return tat - tolerance - now end
  local next_tat = tat + interval
  redis.call('SET', key, next_tat, 'PX', math.ceil((next_tat - now) / 1000) + 1)
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
"
    };
}
pub(super) use gcra_lua;

/// One bucket: KEYS[1]; ARGV = interval (µs), burst.
const GCRA: &str = concat!(
    gcra_lua!(),
    "return gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), now)"
);

/// How long a shared check may take before the local buckets answer.
pub const SHARED_TIMEOUT: Duration = Duration::from_millis(250);

/// The Redis key of the bucket of `key` of `kind` (`ip` or `sub`).
pub(super) fn bucket_key(kind: &str, key: &str) -> String {
    format!("rt:rl:{kind}:{key}")
}

/// Shared buckets in Redis.
pub struct SharedBuckets {
    /// Where the buckets live.
    pub(super) connections: RedisConnections,
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

    /// `Ok(0)` when `key` of `kind` may pass under `rate`, else `Ok(µs to
    /// wait)`; `Err` when Redis did not answer in time.
    pub async fn check(&self, kind: &str, key: &str, rate: Rate) -> Result<u64, String> {
        let mut conn = self.connections.connection().await?;
        let mut invocation = self.script.key(bucket_key(kind, key));
        invocation.arg(rate.interval_us()).arg(rate.count);
        tokio::time::timeout(SHARED_TIMEOUT, invocation.invoke_async::<u64>(&mut conn))
            .await
            .map_err(|_| format!("redis: no answer in {SHARED_TIMEOUT:?}"))?
            .map_err(|e| {
                self.connections.failed();
                format!("redis: {e}")
            })
    }
}

//! Buckets shared by every replica, in Redis (`RATE_LIMIT_STORE=redis`):
//! GCRA in one Lua script, so a check is one atomic round trip. Keys are
//! `rt:rl:<kind>:<key>` and expire once their bucket is full again, so
//! nothing accumulates.

use std::sync::Arc;
use std::time::Duration;

use crate::redis_conn::RedisConnections;

use super::lease::Leases;
use super::Rate;

/// GCRA as a Lua function: the theoretical arrival time (TAT) of the next
/// request, in µs of Redis's own clock (so replicas' clocks do not matter).
/// `gcra` grants up to `want` tokens (a lease, see `lease.rs`) and returns
/// how many, with the µs to wait when none. Shared by the scripts here and
/// in `folded.rs`.
macro_rules! gcra_lua {
    () => {
        r"
local function gcra(key, interval, burst, want, now)
  local tolerance = interval * (burst - 1)
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local room = math.floor((tolerance - (tat - now)) / interval) + 1
  if room < 1 then return 0, tat - tolerance - now end
  local granted = math.min(want, room)
  local next_tat = tat + granted * interval
  redis.call('SET', key, next_tat, 'PX', math.ceil((next_tat - now) / 1000) + 1)
  return granted, 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
"
    };
}
pub(super) use gcra_lua;

/// One bucket: KEYS[1]; ARGV = interval (µs), burst, tokens wanted.
/// Returns {tokens granted, µs to wait when none}.
const GCRA: &str = concat!(
    gcra_lua!(),
    r"
local granted, wait = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), now)
return {granted, wait}
"
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
    /// Tokens taken in advance.
    pub(super) leases: Arc<Leases>,
}

impl SharedBuckets {
    /// Buckets in the Redis `connections` reach.
    pub fn new(connections: RedisConnections) -> Self {
        Self {
            connections,
            script: redis::Script::new(GCRA),
            leases: Arc::default(),
        }
    }

    /// `Ok(0)` when `key` of `kind` may pass under `rate`, else `Ok(µs to
    /// wait)`; `Err` when Redis did not answer in time.
    pub async fn check(&self, kind: &str, key: &str, rate: Rate) -> Result<u64, String> {
        let key = bucket_key(kind, key);
        let size = rate.lease_size();
        if size > 1 && self.leases.take(&key) {
            return Ok(0);
        }
        let late = || format!("redis: no answer in {SHARED_TIMEOUT:?}");
        // Held until the spares are kept: concurrent checks spend them.
        let _turn = if size > 1 {
            let turn = tokio::time::timeout(SHARED_TIMEOUT, self.leases.turn(&key));
            match turn.await.map_err(|_| late())? {
                Some(turn) => Some(turn),
                None => return Ok(0),
            }
        } else {
            None
        };
        let mut conn = self.connections.connection().await?;
        let mut invocation = self.script.key(&key);
        invocation.arg(rate.interval_us()).arg(rate.count).arg(size);
        let (granted, wait): (u32, u64) =
            tokio::time::timeout(SHARED_TIMEOUT, invocation.invoke_async(&mut conn))
                .await
                .map_err(|_| late())?
                .map_err(|e| {
                    self.connections.failed();
                    format!("redis: {e}")
                })?;
        if granted == 0 {
            return Ok(wait.max(1));
        }
        self.leases.keep(&key, granted, size);
        Ok(0)
    }
}

//! Leases: tokens this replica took from a shared bucket in advance and
//! spends without asking Redis. A check that reaches Redis asks for up to
//! [`Rate::lease_size`] tokens at once; the spare ones serve this replica's
//! next requests for the same key for up to [`LEASE_LIFETIME`].
//!
//! Every leased token was charged in Redis, so the fleet together never
//! gets more than the bucket allows; it only spends some of them up to a
//! second late, and a replica's unspent tokens (at most a lease's worth per
//! key) are lost to the others. Small limits lease nothing (size 1): the
//! default 60/m per subject is exact.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Rate;

/// How long leased tokens stay usable.
pub const LEASE_LIFETIME: Duration = Duration::from_secs(1);

/// Keys with leases kept before the map starts over.
const CAPACITY: usize = 10_000;

impl Rate {
    /// Tokens asked for per trip to Redis: a 32nd of the burst, 1 to 64.
    pub(super) fn lease_size(self) -> u32 {
        (self.count / 32).clamp(1, 64)
    }
}

struct Lease {
    left: u32,
    until: Instant,
}

/// This replica's leased tokens, by bucket key.
#[derive(Default)]
pub struct Leases {
    map: Mutex<HashMap<String, Lease>>,
}

impl Leases {
    /// Spends one leased token of `key`, if one is left.
    pub fn take(&self, key: &str) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(key) {
            Some(lease) if lease.left > 0 && Instant::now() < lease.until => {
                lease.left -= 1;
                true
            }
            _ => false,
        }
    }

    /// Keeps the spare tokens of `granted` (one is spent by the request
    /// that asked) for `key`, holding at most `size` in all.
    pub fn keep(&self, key: &str, granted: u32, size: u32) {
        if granted <= 1 {
            return;
        }
        let until = Instant::now() + LEASE_LIFETIME;
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CAPACITY && !map.contains_key(key) {
            map.retain(|_, lease| lease.left > 0 && lease.until > Instant::now());
            if map.len() >= CAPACITY {
                map.clear();
            }
        }
        let lease = map
            .entry(key.to_owned())
            .or_insert(Lease { left: 0, until });
        if lease.until <= Instant::now() {
            lease.left = 0;
        }
        lease.left = (lease.left + granted - 1).min(size);
        lease.until = until;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spares_are_spent_once_and_capped_at_the_lease_size() {
        let leases = Leases::default();
        assert!(!leases.take("k"), "nothing leased yet");
        leases.keep("k", 1, 8);
        assert!(!leases.take("k"), "one token is the asker's own");
        leases.keep("k", 5, 8);
        assert_eq!((0..6).filter(|_| leases.take("k")).count(), 4);
        leases.keep("k", 8, 8);
        leases.keep("k", 8, 8);
        assert_eq!((0..20).filter(|_| leases.take("k")).count(), 8);
        assert!(!leases.take("other"));
    }

    #[test]
    fn spares_expire_with_their_lease() {
        let leases = Leases::default();
        leases.keep("k", 5, 8);
        leases.map.lock().unwrap().get_mut("k").unwrap().until = Instant::now();
        assert!(!leases.take("k"), "an expired lease spends nothing");
        leases.keep("k", 3, 8);
        assert_eq!(
            (0..6).filter(|_| leases.take("k")).count(),
            2,
            "old spares are gone"
        );
    }

    #[test]
    fn small_limits_lease_nothing() {
        let rate = |count| Rate {
            count,
            period: Duration::from_secs(60),
        };
        assert_eq!(rate(60).lease_size(), 1);
        assert_eq!(rate(640).lease_size(), 20);
        assert_eq!(rate(1_000_000).lease_size(), 64);
    }
}

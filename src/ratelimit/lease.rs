//! Leases: tokens this replica took from a shared bucket in advance and
//! spends without asking Redis. A check that reaches Redis asks for up to
//! [`Rate::lease_size`] tokens at once; the spare ones serve this replica's
//! next requests for the same key for up to [`LEASE_LIFETIME`].
//!
//! One check per key and replica asks at a time (its [`Turn`]): checks that
//! find no spare while a trip for their key is under way wait for it and
//! spend its spares, instead of each leasing a batch of its own that only
//! one lease could keep.
//!
//! Every leased token was charged in Redis, so the fleet together never
//! gets more than the bucket allows; it only spends some of them up to a
//! second late, and a replica's unspent tokens (at most a lease's worth per
//! key) are lost to the others. Small limits lease nothing (size 1): the
//! default 60/m per subject is exact.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex as TurnLock, OwnedMutexGuard};

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
    /// Held by the check asking Redis for this key.
    turn: Arc<TurnLock<()>>,
}

impl Lease {
    fn spend(&mut self) -> bool {
        if self.left > 0 && Instant::now() < self.until {
            self.left -= 1;
            return true;
        }
        false
    }

    /// Spares left, or a trip under way.
    fn in_use(&self, now: Instant) -> bool {
        (self.left > 0 && now < self.until) || Arc::strong_count(&self.turn) > 1
    }
}

/// The right to ask Redis for a key's next lease; the other checks of
/// that key on this replica wait until it is dropped.
pub type Turn = OwnedMutexGuard<()>;

/// This replica's leased tokens, by bucket key.
#[derive(Default)]
pub struct Leases {
    map: Mutex<HashMap<String, Lease>>,
}

impl Leases {
    /// Spends one leased token of `key`, if one is left.
    pub fn take(&self, key: &str) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get_mut(key).is_some_and(Lease::spend)
    }

    /// After [`take`](Self::take) found nothing: waits for any trip to
    /// Redis under way for `key`, then spends one of its spares (`None`)
    /// or, with none left, returns the turn to ask Redis (`Some`). Hold
    /// the turn until the answer is kept.
    pub async fn turn(&self, key: &str) -> Option<Turn> {
        let lock = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            let lease = Self::entry(&mut map, key, Instant::now());
            if lease.spend() {
                return None;
            }
            lease.turn.clone()
        };
        let turn = lock.lock_owned().await;
        (!self.take(key)).then_some(turn)
    }

    /// Keeps the spare tokens of `granted` (one is spent by the request
    /// that asked) for `key`, holding at most `size` in all.
    pub fn keep(&self, key: &str, granted: u32, size: u32) {
        if granted <= 1 {
            return;
        }
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let lease = Self::entry(&mut map, key, now);
        if lease.until <= now {
            lease.left = 0;
        }
        lease.left = (lease.left + granted - 1).min(size);
        lease.until = now + LEASE_LIFETIME;
    }

    /// The lease of `key`, making room for it if the map is full.
    fn entry<'m>(map: &'m mut HashMap<String, Lease>, key: &str, now: Instant) -> &'m mut Lease {
        if map.len() >= CAPACITY && !map.contains_key(key) {
            map.retain(|_, lease| lease.in_use(now));
            if map.len() >= CAPACITY {
                map.clear();
            }
        }
        map.entry(key.to_owned()).or_insert_with(|| Lease {
            left: 0,
            until: now,
            turn: Arc::default(),
        })
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

    #[tokio::test]
    async fn concurrent_checks_wait_for_the_trip_under_way_and_spend_its_spares() {
        use futures_util::FutureExt as _;
        let leases = Leases::default();
        let trip = leases.turn("k").await.expect("nothing leased: ask Redis");
        let waiting = leases.turn("k");
        tokio::pin!(waiting);
        assert!(
            (&mut waiting).now_or_never().is_none(),
            "a trip is under way"
        );
        assert!(leases.turn("other").now_or_never().is_some(), "per key");
        leases.keep("k", 5, 8);
        drop(trip);
        assert!(waiting.await.is_none(), "the waiter spent a spare");
        for _ in 0..3 {
            assert!(matches!(leases.turn("k").now_or_never(), Some(None)));
        }
        let next = leases.turn("k").now_or_never();
        assert!(matches!(next, Some(Some(_))), "spares gone: the next asks");
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

//! The in-process buckets: governor's GCRA over a map of states that each
//! thread may hold on to. A thread remembers the last key it checked on a
//! limiter and, once it sees that key twice in a row, that key's state, so
//! a hot key (one busy user, or every client behind a proxy that is not
//! trusted) is checked without hashing it or taking the map's shard lock,
//! which every worker would otherwise write on every request.
//!
//! Limits stay exact: a state is shared by everyone who checks its key, and
//! the sweep that drops idle keys marks a state removed (atomically, only
//! while it is still idle) before taking it out of the map; a thread that
//! meets a removed state looks its key up again.

use std::cell::RefCell;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::nanos::Nanos;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed, StateStore};
use governor::{Quota, RateLimiter};

/// How often (in checks on one thread) idle buckets are dropped, to bound
/// memory.
const SWEEP_EVERY: u64 = 16_384;

/// Check counters per limiter, one per thread slot: a worker counts on a
/// cache line of its own instead of one that every worker writes.
const SLOTS: usize = 8;

/// The value a removed state holds (a time no bucket reaches).
const REMOVED: u64 = u64::MAX;

/// A counter alone on its cache line(s).
#[derive(Default)]
#[repr(align(128))]
struct Slot(AtomicU64);

/// This thread's counter slot.
fn thread_slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS;
    }
    SLOT.with(|slot| *slot)
}

/// A thread's last key on one store, and its state once seen twice.
pub(super) struct Last<K> {
    store: u64,
    key: K,
    state: Option<Arc<InMemoryState>>,
}

/// A key type with a per-thread [`Last`] of its own.
pub(super) trait Key: Hash + Eq + Clone + 'static {
    /// Runs `f` with this thread's last key of this type.
    fn with_last<R>(f: impl FnOnce(&mut Option<Last<Self>>) -> R) -> R;
}

macro_rules! key_with_last {
    ($type:ty) => {
        impl Key for $type {
            fn with_last<R>(f: impl FnOnce(&mut Option<Last<Self>>) -> R) -> R {
                thread_local! {
                    static LAST: RefCell<Option<Last<$type>>> = const { RefCell::new(None) };
                }
                LAST.with(|last| f(&mut last.borrow_mut()))
            }
        }
    };
}
key_with_last!(IpAddr);
key_with_last!(String);

/// The states by key (governor's keyed state store).
pub(super) struct States<K: Key> {
    map: DashMap<K, Arc<InMemoryState>>,
    /// Tells this store's [`Last`] from another's.
    id: u64,
}

impl<K: Key> Default for States<K> {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Self {
            map: DashMap::new(),
            id: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// Why a measurement did not happen.
enum Missed<E> {
    /// The bucket refused (governor's answer).
    Refused(E),
    /// The state was removed from the map: look the key up again.
    Removed,
}

/// Runs governor's `f` on `state`; `Err(())` when the state was removed.
fn measure<T, E>(
    state: &InMemoryState,
    f: &impl Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
) -> Result<Result<T, E>, ()> {
    let answer = state.measure_and_replace(&NotKeyed::NonKey, |tat| match tat {
        Some(tat) if tat.as_u64() == REMOVED => Err(Missed::Removed),
        _ => f(tat).map_err(Missed::Refused),
    });
    match answer {
        Ok(value) => Ok(Ok(value)),
        Err(Missed::Refused(e)) => Ok(Err(e)),
        Err(Missed::Removed) => Err(()),
    }
}

impl<K: Key> States<K> {
    /// Measures `key`'s state in the map (made when missing); `keep` gets
    /// the state.
    fn measure_in_map<T, E>(
        &self,
        key: &K,
        f: &impl Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
        keep: Option<&mut Option<Arc<InMemoryState>>>,
    ) -> Result<T, E> {
        // Measured while the map's guard is held, so the sweep cannot
        // remove the state meanwhile.
        let state = match self.map.get(key) {
            Some(state) => state,
            None => self.map.entry(key.clone()).or_default().downgrade(),
        };
        let answer = measure(&state, f).expect("a state in the map is not removed");
        if let Some(keep) = keep {
            *keep = Some(Arc::clone(&state));
        }
        answer
    }
}

impl<K: Key> StateStore for States<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        K::with_last(|last| match last {
            Some(last) if last.store == self.id && last.key == *key => {
                if let Some(state) = &last.state {
                    if let Ok(answer) = measure(state, &f) {
                        return answer;
                    }
                }
                // Seen twice in a row (or its state was removed): keep it.
                self.measure_in_map(key, &f, Some(&mut last.state))
            }
            Some(last) if last.store == self.id => {
                // A key seen once is not worth a reference count (many keys
                // would each pay one).
                last.key.clone_from(key);
                last.state = None;
                self.measure_in_map(key, &f, None)
            }
            _ => {
                *last = Some(Last {
                    store: self.id,
                    key: key.clone(),
                    state: None,
                });
                self.measure_in_map(key, &f, None)
            }
        })
    }
}

impl<K: Key> ShrinkableKeyedStateStore<K> for States<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        self.map.retain(|_, state| {
            // Only a state that is still idle is marked, in one atomic step:
            // a check through a thread's handle either came first (and the
            // state stays) or finds it removed.
            let idle = state.measure_and_replace(&NotKeyed::NonKey, |tat| match tat {
                Some(tat) if tat > drop_below => Err(()),
                _ => Ok(((), Nanos::from(REMOVED))),
            });
            idle.is_err()
        });
    }

    fn shrink_to_fit(&self) {
        self.map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The buckets of one limit.
pub(super) struct Limiter<K: Key> {
    inner: RateLimiter<K, States<K>, DefaultClock>,
    checks: [Slot; SLOTS],
}

impl<K: Key> Limiter<K> {
    pub(super) fn new(quota: Quota) -> Self {
        Self {
            inner: RateLimiter::new(quota, States::default(), DefaultClock::default()),
            checks: Default::default(),
        }
    }

    /// `Err(seconds to wait)` when `key` is over its limit.
    pub(super) fn check(&self, key: &K) -> Result<(), u64> {
        let checks = &self.checks[thread_slot()].0;
        if checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.inner.retain_recent();
            self.inner.shrink_to_fit();
        }
        self.inner.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

impl Limiter<String> {
    /// [`check`](Self::check) of a borrowed key: the owned key is a reused
    /// buffer of this thread (copied only for a key seen the first time).
    pub(super) fn check_str(&self, key: &str) -> Result<(), u64> {
        thread_local! {
            static KEY: RefCell<String> = const { RefCell::new(String::new()) };
        }
        KEY.with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            buffer.clear();
            buffer.push_str(key);
            self.check(&buffer)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::time::Duration;

    use super::*;

    /// `count` at once, then one more every 1000 hours: no refill while a
    /// test runs.
    fn burst(count: u32) -> Quota {
        Quota::with_period(Duration::from_secs(3_600_000))
            .unwrap()
            .allow_burst(NonZeroU32::new(count).unwrap())
    }

    /// Counts up from 1 (a stand-in for governor's arrival times).
    fn count_up(tat: Option<Nanos>) -> Result<(u64, Nanos), ()> {
        let next = tat.map_or(0, Nanos::as_u64) + 1;
        Ok((next, Nanos::from(next)))
    }

    #[test]
    fn one_hot_key_on_four_threads_gets_exactly_its_limit() {
        let limiter = Limiter::<String>::new(burst(5_000));
        let granted = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..4_000 {
                        // Now and then another key, so the hot key's state
                        // is dropped and taken up again.
                        if i % 500 == 0 {
                            let _ = limiter.check_str("someone-else");
                        }
                        if limiter.check_str("alice").is_ok() {
                            granted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
            // The sweep runs meanwhile (it keeps every bucket in use).
            s.spawn(|| {
                for _ in 0..200 {
                    limiter.inner.retain_recent();
                    std::thread::yield_now();
                }
            });
        });
        assert_eq!(granted.load(Ordering::Relaxed), 5_000);
        assert!(limiter.check_str("alice").is_err());
    }

    #[test]
    fn a_state_the_sweep_removed_is_not_counted_on_through_a_thread_s_handle() {
        let store = States::<IpAddr>::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        // The second check keeps the state, the third goes through it.
        for want in 1..=3 {
            assert_eq!(store.measure_and_replace(&ip, count_up), Ok(want));
        }
        // A sweep that finds it recent keeps it.
        store.retain_recent(Nanos::from(2));
        assert_eq!(store.len(), 1);
        assert_eq!(store.measure_and_replace(&ip, count_up), Ok(4));
        // An idle one is removed, and the handle sees that: the key starts
        // afresh in the map, as it would without the handle.
        store.retain_recent(Nanos::from(4));
        assert!(store.is_empty());
        assert_eq!(store.measure_and_replace(&ip, count_up), Ok(1));
        assert_eq!(store.len(), 1);
        // Another key, then the first again: both counted in the map.
        assert_eq!(store.measure_and_replace(&other, count_up), Ok(1));
        assert_eq!(store.measure_and_replace(&ip, count_up), Ok(2));
    }

    #[test]
    fn two_stores_never_share_a_handle() {
        let (a, b) = (States::<String>::default(), States::<String>::default());
        let key = "alice".to_owned();
        for want in 1..=3 {
            assert_eq!(a.measure_and_replace(&key, count_up), Ok(want));
        }
        assert_eq!(b.measure_and_replace(&key, count_up), Ok(1));
        assert_eq!(b.measure_and_replace(&key, count_up), Ok(2));
        assert_eq!(a.measure_and_replace(&key, count_up), Ok(4));
    }
}

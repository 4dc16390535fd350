//! An optional in-process cache of positive session lookups, with request
//! coalescing: while a lookup for a session is in flight, every other
//! request for the same session waits for it instead of asking again.
//! Failures and "not logged in" are shared with the requests already
//! waiting, never kept.
//!
//! A lookup runs in its own task, so a client that disconnects cannot leave
//! it half-done: it finishes (within the lookup timeout) and settles its
//! slot whether or not anyone still waits. Lookups in flight count toward
//! the capacity like kept results; at capacity a lookup runs uncached.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt as _, Shared};
use prometheus::{IntCounter, IntGauge};
use sha2::{Digest, Sha256};

use super::{AuthFuture, Principal, SessionError};
use crate::config::SessionConfig;

type Lookup = Shared<BoxFuture<'static, Result<Principal, SessionError>>>;

enum Slot {
    Ready {
        principal: Principal,
        until: Instant,
    },
    Pending {
        lookup: Lookup,
    },
}

/// Cache key: a digest of the credential, so raw session ids and cookies
/// are not kept as map keys.
pub type CacheKey = [u8; 32];

/// The digest of a credential (session id, forwarded cookie header, ...).
pub fn cache_key(parts: &[&[u8]]) -> CacheKey {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// What the cache reports: answers it gave and entries it holds.
#[derive(Clone)]
pub struct CacheMetrics {
    /// Lookups answered from the cache.
    pub hits: IntCounter,
    /// Entries held, kept results and lookups in flight.
    pub entries: IntGauge,
}

struct Slots {
    map: HashMap<CacheKey, Slot>,
    // Expired results are swept at most once per TTL, and when full.
    next_sweep: Instant,
}

struct Inner {
    ttl: Duration,
    capacity: usize,
    slots: Mutex<Slots>,
    metrics: CacheMetrics,
}

/// The cache shared by all workers.
pub struct LookupCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LookupCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupCache")
            .field("ttl", &self.inner.ttl)
            .field("capacity", &self.inner.capacity)
            .finish()
    }
}

impl LookupCache {
    /// The cache the session settings ask for (`SESSION_CACHE_TTL` > 0), or none.
    pub fn from_config(config: &SessionConfig, metrics: CacheMetrics) -> Option<Self> {
        (!config.cache_ttl.is_zero())
            .then(|| Self::new(config.cache_ttl, config.cache_size, metrics))
    }

    /// Keeps positive results for `ttl`; holds at most `capacity` entries,
    /// lookups in flight included.
    pub fn new(ttl: Duration, capacity: usize, metrics: CacheMetrics) -> Self {
        Self {
            inner: Arc::new(Inner {
                ttl,
                capacity,
                slots: Mutex::new(Slots {
                    map: HashMap::new(),
                    next_sweep: Instant::now() + ttl,
                }),
                metrics,
            }),
        }
    }

    /// The cached principal for `key`, the result of the lookup in flight
    /// for it, or the result of `lookup` (which then becomes that lookup).
    /// Needs a Tokio runtime: a new lookup runs in a task of its own.
    pub async fn get_or_lookup(
        &self,
        key: CacheKey,
        lookup: impl FnOnce() -> BoxFuture<'static, Result<Principal, SessionError>>,
    ) -> Result<Principal, SessionError> {
        let inner = &self.inner;
        let shared = {
            let mut slots = inner.lock();
            let now = Instant::now();
            match slots.map.get(&key) {
                Some(Slot::Ready { principal, until }) if *until > now => {
                    inner.metrics.hits.inc();
                    return Ok(principal.clone());
                }
                // A finished lookup whose task has not settled it yet: its
                // success counts, its failure is not reused.
                Some(Slot::Pending { lookup }) => match lookup.peek() {
                    None => Some(lookup.clone()),
                    Some(Ok(principal)) if !inner.ttl.is_zero() => {
                        inner.metrics.hits.inc();
                        return Ok(principal.clone());
                    }
                    Some(_) => None,
                },
                _ => None,
            }
            .map(Ok)
            .unwrap_or_else(|| inner.start(&mut slots, key, now, lookup))
        };
        match shared {
            Ok(shared) => shared.await,
            Err(uncached) => uncached.await,
        }
    }
}

impl Slots {
    /// Drops expired results; lookups in flight stay (their task settles them).
    fn sweep(&mut self, now: Instant, ttl: Duration) {
        self.map.retain(|_, slot| match slot {
            Slot::Ready { until, .. } => *until > now,
            Slot::Pending { .. } => true,
        });
        self.next_sweep = now + ttl;
    }
}

/// A lookup to wait for: shared through the cache, or, when the cache is
/// full, the caller's own.
type Started = Result<Lookup, BoxFuture<'static, Result<Principal, SessionError>>>;

impl Inner {
    /// Starts the lookup for `key` in a task of its own, registered as
    /// pending; at capacity it is handed back to run uncached.
    fn start(
        self: &Arc<Self>,
        slots: &mut Slots,
        key: CacheKey,
        now: Instant,
        lookup: impl FnOnce() -> BoxFuture<'static, Result<Principal, SessionError>>,
    ) -> Started {
        slots.map.remove(&key);
        if now >= slots.next_sweep {
            slots.sweep(now, self.ttl);
        }
        if slots.map.len() >= self.capacity {
            self.metrics.entries.set(slots.map.len() as i64);
            return Err(lookup());
        }
        let shared = lookup().shared();
        slots.map.insert(
            key,
            Slot::Pending {
                lookup: shared.clone(),
            },
        );
        self.metrics.entries.set(slots.map.len() as i64);
        let (inner, settling) = (self.clone(), shared.clone());
        tokio::spawn(async move {
            let result = settling.clone().await;
            inner.settle(key, &settling, result);
        });
        Ok(shared)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the finished lookup's slot with the result to keep, if any.
    fn settle(&self, key: CacheKey, finished: &Lookup, result: Result<Principal, SessionError>) {
        let mut slots = self.lock();
        let ours = matches!(slots.map.get(&key), Some(Slot::Pending { lookup }) if lookup.ptr_eq(finished));
        if ours {
            match result {
                Ok(principal) if !self.ttl.is_zero() => {
                    let until = Instant::now() + self.ttl;
                    slots.map.insert(key, Slot::Ready { principal, until });
                }
                _ => {
                    slots.map.remove(&key);
                }
            }
        }
        self.metrics.entries.set(slots.map.len() as i64);
    }
}

/// Looks `credential` up through `cache` when there is one (its key made
/// by `key`, only then), else directly.
pub fn through<'a, C, F>(
    cache: Option<&'a LookupCache>,
    credential: C,
    key: impl FnOnce(&C) -> CacheKey,
    lookup: impl FnOnce(C) -> F + Send + 'static,
) -> AuthFuture<'a>
where
    C: Send + 'static,
    F: Future<Output = Result<Principal, SessionError>> + Send + 'static,
{
    match cache {
        None => Box::pin(lookup(credential)),
        Some(cache) => {
            let key = key(&credential);
            Box::pin(cache.get_or_lookup(key, move || lookup(credential).boxed()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn metrics() -> CacheMetrics {
        CacheMetrics {
            hits: IntCounter::new("hits", "test").unwrap(),
            entries: IntGauge::new("entries", "test").unwrap(),
        }
    }

    fn counting(
        calls: &Arc<AtomicUsize>,
        result: Result<&'static str, SessionError>,
    ) -> BoxFuture<'static, Result<Principal, SessionError>> {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            result.map(|sub| Principal::new(sub, Default::default()).unwrap())
        }
        .boxed()
    }

    #[tokio::test]
    async fn concurrent_lookups_coalesce_and_positive_results_are_kept() {
        let cache = LookupCache::new(Duration::from_secs(60), 10, metrics());
        let calls = Arc::new(AtomicUsize::new(0));
        let key = cache_key(&[b"sid-1"]);
        let all = futures_util::future::join_all(
            (0..20).map(|_| cache.get_or_lookup(key, || counting(&calls, Ok("alice")))),
        )
        .await;
        assert!(all.iter().all(|r| r.as_ref().unwrap().sub == "alice"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        cache
            .get_or_lookup(key, || counting(&calls, Ok("alice")))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "served from the cache");
    }

    #[tokio::test]
    async fn failures_are_shared_but_not_kept() {
        let cache = LookupCache::new(Duration::from_secs(60), 10, metrics());
        let calls = Arc::new(AtomicUsize::new(0));
        let key = cache_key(&[b"sid-2"]);
        let all = futures_util::future::join_all((0..5).map(|_| {
            cache.get_or_lookup(key, || {
                counting(&calls, Err(SessionError::Unavailable("down".into())))
            })
        }))
        .await;
        assert!(all
            .iter()
            .all(|r| matches!(r, Err(SessionError::Unavailable(_)))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let again = cache
            .get_or_lookup(key, || counting(&calls, Ok("alice")))
            .await;
        assert_eq!(again.unwrap().sub, "alice");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "the failure was not cached"
        );
    }

    #[tokio::test]
    async fn at_capacity_new_sessions_are_looked_up_but_not_kept() {
        let cache = LookupCache::new(Duration::from_secs(60), 1, metrics());
        let calls = Arc::new(AtomicUsize::new(0));
        let (first, second) = (cache_key(&[b"sid-a"]), cache_key(&[b"sid-b"]));
        for key in [first, second, first, second] {
            cache
                .get_or_lookup(key, || counting(&calls, Ok("a")))
                .await
                .unwrap();
        }
        // sid-a was kept (one lookup); sid-b found the cache full (two).
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn zero_ttl_coalesces_without_keeping() {
        let cache = LookupCache::new(Duration::ZERO, 10, metrics());
        let calls = Arc::new(AtomicUsize::new(0));
        let key = cache_key(&[b"sid-3"]);
        cache
            .get_or_lookup(key, || counting(&calls, Ok("a")))
            .await
            .unwrap();
        cache
            .get_or_lookup(key, || counting(&calls, Ok("a")))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_abandoned_lookup_finishes_and_settles_its_slot() {
        let cache = LookupCache::new(Duration::from_secs(60), 10, metrics());
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let waiter = cache.get_or_lookup(cache_key(&[b"sid-4"]), || {
            async move {
                let _ = released.await;
                Err(SessionError::Unauthenticated("logged out"))
            }
            .boxed()
        });
        // The client goes away while its lookup is pending.
        assert!(waiter.now_or_never().is_none());
        assert_eq!(cache.inner.metrics.entries.get(), 1);
        release.send(()).unwrap();
        while cache.inner.metrics.entries.get() != 0 {
            tokio::task::yield_now().await;
        }
        assert!(cache.inner.lock().map.is_empty());
    }

    #[tokio::test]
    async fn lookups_in_flight_count_toward_the_capacity() {
        let cache = LookupCache::new(Duration::from_secs(60), 2, metrics());
        let calls = Arc::new(AtomicUsize::new(0));
        let all = futures_util::future::join_all(
            (0..5u8).map(|i| cache.get_or_lookup(cache_key(&[&[i]]), || counting(&calls, Ok("a")))),
        );
        assert!(all.await.iter().all(Result::is_ok));
        assert_eq!(calls.load(Ordering::SeqCst), 5);
        assert!(cache.inner.lock().map.len() <= 2);
    }
}

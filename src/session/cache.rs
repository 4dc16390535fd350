//! An optional in-process cache of positive session lookups, with request
//! coalescing: while a lookup for a session is in flight, every other
//! request for the same session waits for it instead of asking again.
//! Failures and "not logged in" are shared with the requests already
//! waiting, never kept.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt as _, Shared};
use sha2::{Digest, Sha256};

use prometheus::IntCounter;

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
        started: Instant,
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

/// The cache shared by all workers.
pub struct LookupCache {
    ttl: Duration,
    capacity: usize,
    // A pending lookup older than this is abandoned and started afresh.
    stale_after: Duration,
    slots: Arc<Mutex<HashMap<CacheKey, Slot>>>,
    hits: IntCounter,
}

impl std::fmt::Debug for LookupCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl LookupCache {
    /// The cache the session settings ask for (`SESSION_CACHE_TTL` > 0), or none.
    pub fn from_config(config: &SessionConfig, hits: IntCounter) -> Option<Self> {
        (!config.cache_ttl.is_zero()).then(|| {
            Self::new(
                config.cache_ttl,
                config.cache_size,
                config.lookup_timeout,
                hits,
            )
        })
    }

    /// Keeps positive results for `ttl`, at most `capacity` of them;
    /// lookups take at most `lookup_timeout`; answers from the cache count
    /// in `hits`.
    pub fn new(ttl: Duration, capacity: usize, lookup_timeout: Duration, hits: IntCounter) -> Self {
        Self {
            ttl,
            capacity,
            stale_after: lookup_timeout + Duration::from_millis(100),
            slots: Arc::new(Mutex::new(HashMap::new())),
            hits,
        }
    }

    /// The cached principal for `key`, the result of the lookup in flight
    /// for it, or the result of `lookup` (which then becomes that lookup).
    pub async fn get_or_lookup(
        &self,
        key: CacheKey,
        lookup: impl FnOnce() -> BoxFuture<'static, Result<Principal, SessionError>>,
    ) -> Result<Principal, SessionError> {
        let now = Instant::now();
        let shared = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            match slots.get(&key) {
                Some(Slot::Ready { principal, until }) if *until > now => {
                    self.hits.inc();
                    return Ok(principal.clone());
                }
                Some(Slot::Pending { lookup, started })
                    if now.duration_since(*started) < self.stale_after =>
                {
                    lookup.clone()
                }
                _ => {
                    let shared = lookup().shared();
                    slots.insert(
                        key,
                        Slot::Pending {
                            lookup: shared.clone(),
                            started: now,
                        },
                    );
                    shared
                }
            }
        };
        let result = shared.clone().await;
        self.settle(key, &shared, &result);
        result
    }

    /// Replaces the finished pending slot with the result to keep, if any.
    fn settle(&self, key: CacheKey, finished: &Lookup, result: &Result<Principal, SessionError>) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let ours = matches!(slots.get(&key), Some(Slot::Pending { lookup, .. }) if lookup.ptr_eq(finished));
        if !ours {
            return;
        }
        slots.remove(&key);
        let Ok(principal) = result else { return };
        if self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        if slots.len() >= self.capacity {
            slots.retain(|_, slot| match slot {
                Slot::Ready { until, .. } => *until > now,
                Slot::Pending { started, .. } => now.duration_since(*started) < self.stale_after,
            });
        }
        if slots.len() < self.capacity {
            slots.insert(
                key,
                Slot::Ready {
                    principal: principal.clone(),
                    until: now + self.ttl,
                },
            );
        }
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

    fn hits() -> IntCounter {
        IntCounter::new("hits", "test").unwrap()
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
        let cache = LookupCache::new(Duration::from_secs(60), 10, Duration::from_secs(1), hits());
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
        let cache = LookupCache::new(Duration::from_secs(60), 10, Duration::from_secs(1), hits());
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
        let cache = LookupCache::new(Duration::from_secs(60), 1, Duration::from_secs(1), hits());
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
        let cache = LookupCache::new(Duration::ZERO, 10, Duration::from_secs(1), hits());
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
}

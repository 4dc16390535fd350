//! An optional in-process cache of positive session lookups (and of room
//! source answers: it is generic over what is looked up), with request
//! coalescing: while a lookup for a session is in flight, every other
//! request for the same session waits for it instead of asking again.
//! Failures and "not logged in" are shared with the requests already
//! waiting, never kept.
//!
//! A lookup runs in its own task, so a client that disconnects cannot leave
//! it half-done: it finishes (within the lookup timeout) and settles its
//! slot whether or not anyone still waits. Lookups in flight count toward
//! the capacity like kept results, and one client address may hold only so
//! many entries; past either bound a lookup runs uncached.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt as _, Shared};
use sha2::{Digest, Sha256};

use super::SessionConfig;
use super::{AuthFuture, Principal, SessionError};
use crate::address::{ClientAddr, DEFAULT_IPV6_PREFIX};
pub use crate::metrics::CacheMetrics;

/// Longest time between two sweeps of expired results.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

type Lookup<T, E> = Shared<BoxFuture<'static, Result<T, E>>>;

enum State<T, E> {
    Ready { value: T, until: Instant },
    Pending { lookup: Lookup<T, E> },
}

struct Slot<T, E> {
    state: State<T, E>,
    /// The client address (IPv6: its /64) that filled the slot.
    owner: Option<IpAddr>,
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

struct Slots<T, E> {
    map: HashMap<CacheKey, Slot<T, E>>,
    /// Entries per owner, for the per-client bound.
    owners: HashMap<IpAddr, usize>,
    // Expired results are swept at most once per SWEEP_EVERY (a full sweep
    // per request would let a full cache cost O(n) each time).
    next_sweep: Instant,
}

struct Inner<T, E> {
    ttl: Duration,
    capacity: usize,
    per_owner: usize,
    slots: Mutex<Slots<T, E>>,
    metrics: CacheMetrics,
}

/// The cache shared by all workers: of principals by session (the
/// defaults), or of any `T` looked up with errors `E`.
pub struct LookupCache<T = Principal, E = SessionError> {
    inner: Arc<Inner<T, E>>,
}

impl<T, E> std::fmt::Debug for LookupCache<T, E> {
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
        (!config.cache_ttl.is_zero()).then(|| {
            Self::new(
                config.cache_ttl,
                config.cache_size,
                config.cache_per_client,
                metrics,
            )
        })
    }
}

impl<T, E> LookupCache<T, E>
where
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// Keeps positive results for `ttl`; holds at most `capacity` entries,
    /// lookups in flight included, and at most `per_owner` of one owner.
    pub fn new(ttl: Duration, capacity: usize, per_owner: usize, metrics: CacheMetrics) -> Self {
        Self {
            inner: Arc::new(Inner {
                ttl,
                capacity,
                per_owner,
                slots: Mutex::new(Slots {
                    map: HashMap::new(),
                    owners: HashMap::new(),
                    next_sweep: Instant::now() + ttl.min(SWEEP_EVERY),
                }),
                metrics,
            }),
        }
    }

    /// The cached value for `key`, the result of the lookup in flight for
    /// it, or the result of `lookup` (which then becomes that lookup, owned
    /// by `owner`). Needs a Tokio runtime: a new lookup runs in a task of
    /// its own.
    pub async fn get_or_lookup(
        &self,
        key: CacheKey,
        owner: Option<IpAddr>,
        lookup: impl FnOnce() -> BoxFuture<'static, Result<T, E>>,
    ) -> Result<T, E> {
        let inner = &self.inner;
        let shared = {
            let mut slots = inner.lock();
            let now = Instant::now();
            match slots.map.get(&key).map(|slot| &slot.state) {
                Some(State::Ready { value, until }) if *until > now => {
                    inner.metrics.hits.inc();
                    return Ok(value.clone());
                }
                // A finished lookup whose task has not settled it yet: its
                // success counts, its failure is not reused.
                Some(State::Pending { lookup }) => match lookup.peek() {
                    None => Some(lookup.clone()),
                    Some(Ok(value)) if !inner.ttl.is_zero() => {
                        inner.metrics.hits.inc();
                        return Ok(value.clone());
                    }
                    Some(_) => None,
                },
                _ => None,
            }
            .map(Ok)
            .unwrap_or_else(|| inner.start(&mut slots, key, owner, now, lookup))
        };
        match shared {
            Ok(shared) => shared.await,
            Err(uncached) => uncached.await,
        }
    }
}

impl<T, E> Slots<T, E> {
    /// Drops expired results; lookups in flight stay (their task settles them).
    fn sweep(&mut self, now: Instant, ttl: Duration) {
        let owners = &mut self.owners;
        self.map.retain(|_, slot| {
            let keep = match slot.state {
                State::Ready { until, .. } => until > now,
                State::Pending { .. } => true,
            };
            if !keep {
                release(owners, slot.owner);
            }
            keep
        });
        self.next_sweep = now + ttl.min(SWEEP_EVERY);
    }

    fn insert(&mut self, key: CacheKey, slot: Slot<T, E>) {
        if let Some(owner) = slot.owner {
            *self.owners.entry(owner).or_default() += 1;
        }
        if let Some(old) = self.map.insert(key, slot) {
            release(&mut self.owners, old.owner);
        }
    }

    fn remove(&mut self, key: &CacheKey) {
        if let Some(old) = self.map.remove(key) {
            release(&mut self.owners, old.owner);
        }
    }

    fn held_by(&self, owner: Option<IpAddr>) -> usize {
        owner
            .and_then(|o| self.owners.get(&o))
            .copied()
            .unwrap_or(0)
    }
}

fn release(owners: &mut HashMap<IpAddr, usize>, owner: Option<IpAddr>) {
    let Some(owner) = owner else { return };
    if let Some(count) = owners.get_mut(&owner) {
        *count -= 1;
        if *count == 0 {
            owners.remove(&owner);
        }
    }
}

/// A lookup to wait for: shared through the cache, or, when the cache is
/// full, the caller's own.
type Started<T, E> = Result<Lookup<T, E>, BoxFuture<'static, Result<T, E>>>;

impl<T, E> Inner<T, E>
where
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// Starts the lookup for `key` in a task of its own, registered as
    /// pending; at capacity it is handed back to run uncached.
    fn start(
        self: &Arc<Self>,
        slots: &mut Slots<T, E>,
        key: CacheKey,
        owner: Option<IpAddr>,
        now: Instant,
        lookup: impl FnOnce() -> BoxFuture<'static, Result<T, E>>,
    ) -> Started<T, E> {
        slots.remove(&key);
        if now >= slots.next_sweep {
            slots.sweep(now, self.ttl);
        }
        if slots.map.len() >= self.capacity || slots.held_by(owner) >= self.per_owner {
            self.metrics.entries.set(slots.map.len() as i64);
            return Err(lookup());
        }
        let shared = lookup().shared();
        slots.insert(
            key,
            Slot {
                state: State::Pending {
                    lookup: shared.clone(),
                },
                owner,
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots<T, E>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the finished lookup's slot with the result to keep, if any.
    fn settle(&self, key: CacheKey, finished: &Lookup<T, E>, result: Result<T, E>) {
        let mut slots = self.lock();
        let owner = match slots.map.get(&key) {
            Some(Slot {
                state: State::Pending { lookup },
                owner,
            }) if lookup.ptr_eq(finished) => Some(*owner),
            _ => None,
        };
        if let Some(owner) = owner {
            match result {
                Ok(value) if !self.ttl.is_zero() => {
                    let until = Instant::now() + self.ttl;
                    let state = State::Ready { value, until };
                    slots.insert(key, Slot { state, owner });
                }
                _ => slots.remove(&key),
            }
        }
        self.metrics.entries.set(slots.map.len() as i64);
    }
}

/// Who a new cache entry counts against: the request's client address
/// (IPv6: its /64).
pub fn owner(req: &actix_web::HttpRequest) -> Option<IpAddr> {
    ClientAddr::of(req).map(|c| c.bucket(DEFAULT_IPV6_PREFIX))
}

/// Looks `credential` up through `cache` when there is one (its key made
/// by `key`, only then), else directly.
pub fn through<'a, C, F>(
    cache: Option<&'a LookupCache>,
    owner: Option<IpAddr>,
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
            Box::pin(cache.get_or_lookup(key, owner, move || lookup(credential).boxed()))
        }
    }
}

#[cfg(test)]
mod tests;

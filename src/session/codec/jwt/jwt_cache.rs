//! `SESSION_JWT_CACHE_SIZE`: the `jwt-cookie` cache of verified tokens, as
//! Envoy's jwt_authn `jwt_cache_config` keeps one: a token whose signature
//! and claims passed once is not verified again, but every hit still checks
//! `exp` / `nbf` against the clock.
//!
//! The key is the SHA-256 of the whole compact token (the token itself is
//! not kept); the value its claims and lifetime. Only successes are kept.
//! Entries belong to one generation of the key set: when a JWKS fetch
//! replaces the keys, all entries go, so a removed key stops verifying at
//! once. When full, expired entries are swept (at most once a second) and a
//! new token is verified without the cache until there is room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::jws::{Lifetime, Refusal, LEEWAY_SECS};
use crate::metrics::CacheMetrics;

/// Longest time between two sweeps of expired entries when full.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The cache key of a token: the SHA-256 of its compact form.
pub type TokenKey = [u8; 32];

/// The key of `token`.
pub fn token_key(token: &str) -> TokenKey {
    Sha256::digest(token.as_bytes()).into()
}

struct Entry {
    claims: Arc<Value>,
    lifetime: Lifetime,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    entries: HashMap<TokenKey, Entry>,
    last_sweep: Option<Instant>,
}

impl Inner {
    /// Moves to `generation` (dropping every entry) when it is newer;
    /// whether entries of `generation` are the current ones.
    fn current(&mut self, generation: u64) -> bool {
        if generation > self.generation {
            self.entries.clear();
            self.generation = generation;
        }
        generation == self.generation
    }
}

/// Verified tokens, at most `capacity`.
pub struct VerifiedTokens {
    capacity: usize,
    metrics: CacheMetrics,
    inner: Mutex<Inner>,
}

impl VerifiedTokens {
    /// A cache of at most `capacity` tokens; `None` when `capacity` is 0.
    pub fn new(capacity: usize, metrics: CacheMetrics) -> Option<Self> {
        (capacity > 0).then(|| Self {
            capacity,
            metrics,
            inner: Mutex::new(Inner::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The claims of a token verified with the keys of `generation`,
    /// checked again at `now` (seconds since the epoch): `None` when it is
    /// not cached, a refusal when it has expired since.
    pub fn get(
        &self,
        key: &TokenKey,
        generation: u64,
        now: u64,
    ) -> Option<Result<Arc<Value>, Refusal>> {
        let mut inner = self.lock();
        if !inner.current(generation) {
            return None;
        }
        let entry = inner.entries.get(key)?;
        self.metrics.hits.inc();
        match entry.lifetime.check(now) {
            Ok(()) => Some(Ok(entry.claims.clone())),
            Err(why) => {
                inner.entries.remove(key);
                self.metrics.entries.set(inner.entries.len() as i64);
                Some(Err(why))
            }
        }
    }

    /// Keeps a token just verified with the keys of `generation`.
    pub fn insert(
        &self,
        key: TokenKey,
        generation: u64,
        claims: Arc<Value>,
        lifetime: Lifetime,
        now: u64,
    ) {
        let mut inner = self.lock();
        if !inner.current(generation) {
            return;
        }
        if inner.entries.len() >= self.capacity
            && inner
                .last_sweep
                .is_none_or(|at| at.elapsed() >= SWEEP_EVERY)
        {
            let oldest_valid = now.saturating_sub(LEEWAY_SECS);
            inner.entries.retain(|_, e| e.lifetime.exp >= oldest_valid);
            inner.last_sweep = Some(Instant::now());
        }
        if inner.entries.len() < self.capacity {
            inner.entries.insert(key, Entry { claims, lifetime });
        }
        self.metrics.entries.set(inner.entries.len() as i64);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn lifetime(exp: u64) -> Lifetime {
        Lifetime { exp, nbf: None }
    }

    #[test]
    fn hits_recheck_the_clock_and_a_new_key_set_empties_the_cache() {
        let cache = VerifiedTokens::new(2, CacheMetrics::detached()).unwrap();
        let (a, b, c) = (token_key("a"), token_key("b"), token_key("c"));
        let claims = Arc::new(json!({"sub": "alice"}));
        cache.insert(a, 1, claims.clone(), lifetime(NOW + 60), NOW);
        assert_eq!(cache.get(&a, 1, NOW).unwrap().unwrap(), claims);
        assert!(cache.get(&b, 1, NOW).is_none());
        // Past exp + leeway: refused, and gone.
        let later = NOW + 61 + LEEWAY_SECS;
        assert_eq!(
            cache.get(&a, 1, later).unwrap().unwrap_err(),
            Refusal::Invalid("the session token has expired")
        );
        assert!(cache.get(&a, 1, NOW).is_none());

        // Full: c waits until the expired b can be swept.
        cache.insert(a, 1, claims.clone(), lifetime(NOW + 60), NOW);
        cache.insert(b, 1, claims.clone(), lifetime(NOW), NOW);
        cache.insert(c, 1, claims.clone(), lifetime(NOW + 60), NOW);
        assert!(cache.get(&c, 1, NOW).is_none());
        cache.inner.lock().unwrap().last_sweep = None;
        cache.insert(
            c,
            1,
            claims.clone(),
            lifetime(NOW + 60),
            NOW + LEEWAY_SECS + 1,
        );
        assert!(cache.get(&c, 1, NOW).is_some());

        // Generation 2: nothing of 1 is served, and a late insert of 1 is dropped.
        assert!(cache.get(&a, 2, NOW).is_none());
        cache.insert(b, 1, claims.clone(), lifetime(NOW + 60), NOW);
        assert!(cache.get(&b, 2, NOW).is_none());
        assert!(cache.get(&b, 1, NOW).is_none());
        assert!(VerifiedTokens::new(0, CacheMetrics::detached()).is_none());
    }
}

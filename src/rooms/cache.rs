//! [`Lookups`]: a room source asked within `ROOMS_TIMEOUT`, measured, its
//! values checked as room patterns, and, with `ROOMS_CACHE_TTL`, its valid
//! answers kept per subject and requested rooms (the session cache's
//! coalescing and bounds; failures never kept).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt as _};

use super::grants::{valid_values, Dropped};
use super::{Ask, RoomSource, RoomsError, RoomsSettings};
use crate::metrics::{CacheMetrics, RoomMetrics};
use crate::session::cache::{cache_key, CacheKey, LookupCache};

/// A source's valid values, shared between the cache and its readers.
type Values = Arc<Vec<String>>;

/// How a [`RoomSource`] is asked.
pub(super) struct Lookups {
    pub(super) source: Arc<dyn RoomSource>,
    pub(super) timeout: Duration,
    metrics: RoomMetrics,
    cache: Option<LookupCache<Values, RoomsError>>,
}

impl Lookups {
    pub(super) fn new(
        source: Arc<dyn RoomSource>,
        settings: &RoomsSettings,
        metrics: RoomMetrics,
    ) -> Self {
        let cache = (!settings.cache_ttl.is_zero()).then(|| {
            let counters = CacheMetrics {
                hits: metrics.cache_hits.clone(),
                entries: metrics.cache_entries.clone(),
            };
            LookupCache::new(
                settings.cache_ttl,
                settings.cache_size,
                settings.cache_per_client,
                counters,
            )
        });
        Self {
            source,
            timeout: settings.timeout,
            metrics,
            cache,
        }
    }

    /// The source's valid values for `ask`: kept ones when the cache has
    /// them, else a lookup (shared with the same lookups in flight; a new
    /// cache entry counts against `owner`).
    pub(super) async fn values(
        &self,
        ask: Ask<'_>,
        owner: Option<IpAddr>,
    ) -> Result<Values, RoomsError> {
        match &self.cache {
            None => self.lookup(ask).await,
            Some(cache) => {
                cache
                    .get_or_lookup(key(&ask), owner, || self.lookup(ask))
                    .await
            }
        }
    }

    /// One lookup, bounded by `ROOMS_TIMEOUT` and measured; invalid values
    /// dropped and reported.
    fn lookup(&self, ask: Ask<'_>) -> BoxFuture<'static, Result<Values, RoomsError>> {
        let answer = self.source.lookup(ask);
        let (var, timeout, metrics) = (self.source.var(), self.timeout, self.metrics.clone());
        async move {
            let started = Instant::now();
            metrics.lookups.inc();
            let answer = match tokio::time::timeout(timeout, answer).await {
                Ok(answer) => answer,
                Err(_) => Err(format!(
                    "{var}: no answer within ROOMS_TIMEOUT ({timeout:?})"
                )),
            };
            metrics.seconds.observe(started.elapsed().as_secs_f64());
            let values = answer.map_err(|why| {
                metrics.errors.inc();
                RoomsError::Unavailable(why)
            })?;
            let (valid, dropped) = valid_values(values);
            report(var, &metrics, dropped);
            Ok(Arc::new(valid))
        }
        .boxed()
    }
}

fn report(var: &str, metrics: &RoomMetrics, dropped: Dropped) {
    if let (count @ 1.., Some(problem)) = (dropped.count, dropped.first) {
        metrics.dropped.inc_by(count as u64);
        // Never the values: they are the app's data, possibly large.
        log::warn!(
            "{var} returned {count} value(s) that are not room patterns, dropped (the first {}); values are not logged",
            problem.reason()
        );
    }
}

/// The cache key: the subject, its session attributes (a key template may
/// read them), whether the caller brought the user's session (`ROOMS_URL`
/// answers without it for nobody), and the requested rooms as a set.
fn key(ask: &Ask<'_>) -> CacheKey {
    let attributes = serde_json::to_vec(&ask.principal.attributes).unwrap_or_default();
    let mut requested: Vec<&str> = ask
        .requested
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    requested.sort_unstable();
    requested.dedup();
    let flags = [
        u8::from(ask.headers.is_some()),
        u8::from(ask.requested.is_some()),
    ];
    let mut parts: Vec<&[u8]> = vec![ask.principal.sub.as_bytes(), &attributes, &flags];
    parts.extend(requested.iter().map(|r| r.as_bytes()));
    cache_key(&parts)
}

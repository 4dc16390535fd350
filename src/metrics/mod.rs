//! Prometheus metrics: tokens issued, rejections by error code, session
//! lookups and their latency, the session cache, room source lookups,
//! HTTP request durations.
//! With `METRICS=off` there is no registry at all and every call returns
//! at once.

use std::sync::Arc;
use std::time::Duration;

mod per_thread;

use per_thread::{ThreadCounter, ThreadHistogramVec};

use actix_web::http::StatusCode;
use prometheus::core::{Collector, Desc, Describer as _};
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder as _, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Latency buckets in seconds: from 50 µs (a cookie check) to 2.5 s.
const BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5,
];

/// What the cache reports: answers it gave and entries it holds.
#[derive(Clone)]
pub struct CacheMetrics {
    /// Lookups answered from the cache.
    pub hits: IntCounter,
    /// Entries held, kept results and lookups in flight.
    pub entries: IntGauge,
}

impl CacheMetrics {
    /// Counters in no registry (metrics off, or a cache of your own).
    pub fn detached() -> Self {
        Self {
            hits: IntCounter::new("session_cache_hits", "unregistered").expect("valid name"),
            entries: IntGauge::new("session_cache_entries", "unregistered").expect("valid name"),
        }
    }
}

/// How a session check ended, as the `outcome` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupOutcome {
    /// A principal.
    Ok,
    /// Not logged in (401).
    Unauthenticated,
    /// The backend failed (503).
    Unavailable,
}

/// The service's metrics, in a registry of their own (one per server, so
/// several servers in one process do not mix counts), or nothing at all.
#[derive(Clone, Default)]
pub struct Metrics {
    recorders: Option<Arc<Recorders>>,
}

/// What a request records every time is kept per thread (`per_thread.rs`).
struct Recorders {
    registry: Registry,
    tokens_issued: ThreadCounter,
    rejections: IntCounterVec,
    unauthenticated: IntCounterVec,
    lookups: ThreadHistogramVec,
    cache: CacheMetrics,
    http: ThreadHistogramVec,
    limit_fallbacks: IntCounter,
    rooms: RoomMetrics,
}

/// The room source's metrics (`ROOMS_QUERY`, `ROOMS_REDIS_KEY`, `ROOMS_URL`).
#[derive(Clone)]
pub struct RoomMetrics {
    /// Lookups that asked the source (not answered by the cache).
    pub lookups: IntCounter,
    /// Lookups that failed or timed out (answered 503).
    pub errors: IntCounter,
    /// How long each lookup took.
    pub seconds: Histogram,
    /// Values the source returned that are not room patterns.
    pub dropped: IntCounter,
    /// Lookups answered from the room cache.
    pub cache_hits: IntCounter,
    /// Entries in the room cache.
    pub cache_entries: IntGauge,
}

impl RoomMetrics {
    fn new(registered: bool) -> Self {
        // Unregistered metrics may share names; registered ones are named
        // for the exposition.
        let name = |n: &str| match registered {
            true => format!("realtime_token_room_{n}"),
            false => format!("room_{n}"),
        };
        Self {
            lookups: IntCounter::new(name("lookups_total"), "Room source lookups.").unwrap(),
            errors: IntCounter::new(
                name("lookup_errors_total"),
                "Room source lookups that failed or timed out (answered 503 rooms_unavailable).",
            )
            .unwrap(),
            seconds: Histogram::with_opts(
                HistogramOpts::new(name("lookup_seconds"), "Room source lookup durations.")
                    .buckets(BUCKETS.to_vec()),
            )
            .unwrap(),
            dropped: IntCounter::new(
                name("values_dropped_total"),
                "Values a room source returned that are not room patterns (dropped).",
            )
            .unwrap(),
            cache_hits: IntCounter::new(
                name("cache_hits_total"),
                "Room lookups answered from the in-process room cache (ROOMS_CACHE_TTL).",
            )
            .unwrap(),
            cache_entries: IntGauge::new(
                name("cache_entries"),
                "Entries in the room cache: kept answers and lookups in flight.",
            )
            .unwrap(),
        }
    }

    /// Metrics in no registry (metrics off).
    pub fn detached() -> Self {
        Self::new(false)
    }

    fn collectors(&self) -> [Box<dyn prometheus::core::Collector>; 6] {
        [
            Box::new(self.lookups.clone()),
            Box::new(self.errors.clone()),
            Box::new(self.seconds.clone()),
            Box::new(self.dropped.clone()),
            Box::new(self.cache_hits.clone()),
            Box::new(self.cache_entries.clone()),
        ]
    }
}

/// The `outcome` labels, in [`LookupOutcome`] order.
const OUTCOMES: [&str; 3] = ["ok", "unauthenticated", "unavailable"];

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.recorders {
            Some(_) => "Metrics(on)",
            None => "Metrics(off)",
        })
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let registry = Registry::new();
        let tokens_issued = ThreadCounter::new(Opts::new(
            "realtime_token_tokens_issued_total",
            "Tokens issued.",
        ));
        let rejections = IntCounterVec::new(
            Opts::new(
                "realtime_token_rejections_total",
                "Requests answered with an error, by stable error code.",
            ),
            &["code"],
        )
        .unwrap();
        let unauthenticated = IntCounterVec::new(
            Opts::new(
                "realtime_token_unauthenticated_total",
                "401 answers by reason (no_cookie, wrong_cookie_name, bad_signature, expired, unknown_session, ended, malformed, no_subject, bad_admin_key).",
            ),
            &["reason"],
        )
        .unwrap();
        let lookups = ThreadHistogramVec::new(
            HistogramOpts::new(
                "realtime_token_session_lookup_seconds",
                "Session checks by the configured backend, by outcome.",
            )
            .buckets(BUCKETS.to_vec()),
            &["outcome"],
            &OUTCOMES.map(|o| [o]).each_ref().map(|o| &o[..]),
        );
        let cache = CacheMetrics {
            hits: IntCounter::new(
                "realtime_token_session_cache_hits_total",
                "Session lookups answered from the in-process cache.",
            )
            .unwrap(),
            entries: IntGauge::new(
                "realtime_token_session_cache_entries",
                "Entries in the session cache: kept results and lookups in flight.",
            )
            .unwrap(),
        };
        let http = ThreadHistogramVec::new(
            HistogramOpts::new(
                "realtime_token_http_request_seconds",
                "HTTP requests by route and status.",
            )
            .buckets(BUCKETS.to_vec()),
            &["route", "status"],
            &[],
        );
        let limit_fallbacks = IntCounter::new(
            "realtime_token_rate_limit_fallbacks_total",
            "Rate-limit checks answered by this replica's own buckets because the shared store (Redis) did not.",
        )
        .unwrap();
        let rooms = RoomMetrics::new(true);
        for collector in [
            Box::new(tokens_issued.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(limit_fallbacks.clone()),
            Box::new(rejections.clone()),
            Box::new(unauthenticated.clone()),
            Box::new(lookups.clone()),
            Box::new(cache.hits.clone()),
            Box::new(cache.entries.clone()),
            Box::new(http.clone()),
        ]
        .into_iter()
        .chain(rooms.collectors())
        {
            registry.register(collector).expect("unique metric names");
        }
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("process metrics");
        Self {
            recorders: Some(Arc::new(Recorders {
                registry,
                tokens_issued,
                rejections,
                unauthenticated,
                lookups,
                cache,
                http,
                limit_fallbacks,
                rooms,
            })),
        }
    }

    /// Metrics that hold and record nothing (`METRICS=off`).
    pub fn disabled() -> Self {
        Self { recorders: None }
    }

    /// The counter of rate-limit checks that fell back to local buckets
    /// (detached when metrics are off).
    pub fn limit_fallbacks(&self) -> IntCounter {
        match &self.recorders {
            Some(r) => r.limit_fallbacks.clone(),
            None => IntCounter::new("rate_limit_fallbacks", "unregistered").expect("valid name"),
        }
    }

    /// The session cache's counters: live ones, or detached ones that no
    /// registry reads when metrics are off.
    pub fn cache(&self) -> CacheMetrics {
        match &self.recorders {
            Some(r) => r.cache.clone(),
            None => CacheMetrics::detached(),
        }
    }

    /// The room source's metrics: live ones, or detached ones when metrics
    /// are off.
    pub fn rooms(&self) -> RoomMetrics {
        match &self.recorders {
            Some(r) => r.rooms.clone(),
            None => RoomMetrics::detached(),
        }
    }

    /// Counts one issued token.
    pub fn token_issued(&self) {
        if let Some(r) = &self.recorders {
            r.tokens_issued.inc();
        }
    }

    /// Counts one error answer by its stable code.
    pub fn rejected(&self, code: &str) {
        if let Some(r) = &self.recorders {
            r.rejections.with_label_values(&[code]).inc();
        }
    }

    /// Counts one 401 by its reason code.
    pub fn unauthenticated(&self, reason: &str) {
        if let Some(r) = &self.recorders {
            r.unauthenticated.with_label_values(&[reason]).inc();
        }
    }

    /// Records one session check and its outcome.
    pub fn session_lookup(&self, outcome: LookupOutcome, took: Duration) {
        if let Some(r) = &self.recorders {
            r.lookups
                .observe(&[OUTCOMES[outcome as usize]], took.as_secs_f64());
        }
    }

    /// Records one HTTP request.
    pub fn http_request(&self, route: &str, status: StatusCode, took: Duration) {
        if let Some(r) = &self.recorders {
            r.http
                .observe(&[route, status.as_str()], took.as_secs_f64());
        }
    }

    /// Exports a counter that another module keeps (e.g. the log records
    /// telemetry dropped), read by `read` at each scrape.
    pub fn count_from(&self, name: &str, help: &str, read: fn() -> u64) {
        if let Some(r) = &self.recorders {
            let opts = Opts::new(name, help);
            let desc = opts.describe().expect("a valid metric name");
            r.registry
                .register(Box::new(CounterFn { opts, desc, read }))
                .expect("a unique metric name");
        }
    }

    /// The text exposition format; empty when metrics are off.
    pub fn render(&self) -> String {
        let Some(r) = &self.recorders else {
            return String::new();
        };
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&r.registry.gather(), &mut out)
            .expect("text encoding does not fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// A counter whose value is kept elsewhere and read at each scrape.
struct CounterFn {
    opts: Opts,
    desc: Desc,
    read: fn() -> u64,
}

impl Collector for CounterFn {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let counter = IntCounter::with_opts(self.opts.clone()).expect("valid options");
        counter.inc_by((self.read)());
        counter.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_metrics_hold_no_registry_and_render_nothing() {
        let off = Metrics::disabled();
        assert!(off.recorders.is_none());
        off.token_issued();
        off.session_lookup(LookupOutcome::Ok, Duration::from_millis(1));
        assert_eq!(off.render(), "");
        let on = Metrics::new();
        on.session_lookup(LookupOutcome::Unavailable, Duration::from_millis(1));
        on.http_request("/healthz", StatusCode::OK, Duration::from_millis(1));
        on.count_from("kept_elsewhere_total", "A counter kept elsewhere.", || 42);
        off.count_from("kept_elsewhere_total", "A counter kept elsewhere.", || 42);
        let text = on.render();
        assert!(text.contains("kept_elsewhere_total 42"), "{text}");
        assert!(text.contains("outcome=\"unavailable\"} 1"), "{text}");
        assert!(text.contains("status=\"200\""), "{text}");
    }
}

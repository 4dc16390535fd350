//! Prometheus metrics: tokens issued, rejections by error code, session
//! lookups and their latency, cache hits, HTTP request durations.

use std::time::Duration;

use crate::session::cache::CacheMetrics;
use crate::session::{Principal, SessionError};
use prometheus::{
    Encoder as _, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    Opts, Registry, TextEncoder,
};

/// Latency buckets in seconds: from 50 µs (a cookie check) to 2.5 s.
const BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5,
];

/// All the service's metrics, registered in their own registry (one per
/// server, so several servers in one process do not mix counts).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    tokens_issued: IntCounter,
    rejections: IntCounterVec,
    lookup_ok: Histogram,
    lookup_unauthenticated: Histogram,
    lookup_unavailable: Histogram,
    /// The session cache's hits and entries.
    pub cache: CacheMetrics,
    http: HistogramVec,
    enabled: bool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let registry = Registry::new();
        let tokens_issued =
            IntCounter::new("realtime_token_tokens_issued_total", "Tokens issued.").unwrap();
        let rejections = IntCounterVec::new(
            Opts::new(
                "realtime_token_rejections_total",
                "Requests answered with an error, by stable error code.",
            ),
            &["code"],
        )
        .unwrap();
        let lookups = HistogramVec::new(
            HistogramOpts::new(
                "realtime_token_session_lookup_seconds",
                "Session checks by the configured backend, by outcome.",
            )
            .buckets(BUCKETS.to_vec()),
            &["outcome"],
        )
        .unwrap();
        let cache_hits = IntCounter::new(
            "realtime_token_session_cache_hits_total",
            "Session lookups answered from the in-process cache.",
        )
        .unwrap();
        let cache_entries = IntGauge::new(
            "realtime_token_session_cache_entries",
            "Entries in the session cache: kept results and lookups in flight.",
        )
        .unwrap();
        let http = HistogramVec::new(
            HistogramOpts::new(
                "realtime_token_http_request_seconds",
                "HTTP requests by route and status.",
            )
            .buckets(BUCKETS.to_vec()),
            &["route", "status"],
        )
        .unwrap();
        for collector in [
            Box::new(tokens_issued.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(rejections.clone()),
            Box::new(lookups.clone()),
            Box::new(cache_hits.clone()),
            Box::new(cache_entries.clone()),
            Box::new(http.clone()),
        ] {
            registry.register(collector).expect("unique metric names");
        }
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("process metrics");
        Self {
            registry,
            tokens_issued,
            rejections,
            lookup_ok: lookups.with_label_values(&["ok"]),
            lookup_unauthenticated: lookups.with_label_values(&["unauthenticated"]),
            lookup_unavailable: lookups.with_label_values(&["unavailable"]),
            cache: CacheMetrics {
                hits: cache_hits,
                entries: cache_entries,
            },
            http,
            enabled: true,
        }
    }

    /// Recording metrics, or not with `METRICS=off`.
    pub fn for_config(config: &crate::config::Config) -> Self {
        if config.ops.metrics {
            Self::new()
        } else {
            Self::disabled()
        }
    }

    /// Metrics that record nothing (`METRICS=off`).
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::new()
        }
    }

    /// False when built with [`Metrics::disabled`].
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Counts one issued token.
    pub fn token_issued(&self) {
        if self.enabled {
            self.tokens_issued.inc();
        }
    }

    /// Counts one error answer by its stable code.
    pub fn rejected(&self, code: &str) {
        if self.enabled {
            self.rejections.with_label_values(&[code]).inc();
        }
    }

    /// Records one session check and its outcome.
    pub fn session_lookup(&self, result: &Result<Principal, SessionError>, took: Duration) {
        if !self.enabled {
            return;
        }
        let histogram = match result {
            Ok(_) => &self.lookup_ok,
            Err(SessionError::Unavailable(_)) => &self.lookup_unavailable,
            Err(SessionError::Unauthenticated(_)) => &self.lookup_unauthenticated,
        };
        histogram.observe(took.as_secs_f64());
    }

    /// Records one HTTP request.
    pub fn http_request(&self, route: &str, status: u16, took: Duration) {
        if !self.enabled {
            return;
        }
        let buf = itoa_status(status);
        let status = std::str::from_utf8(&buf).unwrap_or("000");
        self.http
            .with_label_values(&[route, status])
            .observe(took.as_secs_f64());
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding does not fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// A status code as three ASCII digits, without allocating.
fn itoa_status(status: u16) -> [u8; 3] {
    let s = status.min(999);
    [
        b'0' + (s / 100) as u8,
        b'0' + (s / 10 % 10) as u8,
        b'0' + (s % 10) as u8,
    ]
}

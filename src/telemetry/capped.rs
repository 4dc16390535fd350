//! Caps on the log targets of dependencies that print request data (SQL
//! parameters, headers, raw bytes) at `debug` or `trace`: no `RUST_LOG`
//! value can re-enable them, so no level leaks a cookie, session id or token.

use log::{Level, Log, Metadata, Record};

/// The most a capped dependency target may log, whatever `RUST_LOG` says.
pub const CAP: Level = Level::Info;

/// Target prefixes held at [`CAP`]. Matched as env_logger matches a
/// directive (a plain prefix of the record's target), so `tokio_postgres`
/// covers `tokio_postgres::query` and `deadpool` covers `deadpool.postgres`.
/// The reasons, from the crates' source (docs/src/operations.md, "Log levels", has the table):
pub const CAPPED_TARGETS: &[&str] = &[
    // debug: every statement's parameters (the session id) and its SQL.
    "tokio_postgres",
    // postgres_protocol / postgres_types: nothing today; capped with the driver.
    "postgres",
    // deadpool / deadpool.postgres: pool errors carrying the driver's errors.
    "deadpool",
    // debug: command errors; trace: the cluster's packed commands.
    "redis",
    // debug: connection URLs (with any userinfo); trace with
    // `connection_verbose`: raw request bytes, the Cookie header included.
    "reqwest",
    // hyper (its `tracing` feature logs headers), hyper_util (pool and
    // connect), hyper_rustls.
    "hyper",
    // HTTP/2 frames (not in this build; capped in case a feature adds it).
    "h2",
    // trace: TLS handshake messages, session tickets and client hellos.
    "rustls",
    "tokio_rustls",
    // debug: header values of malformed requests; trace: parse errors.
    "actix_http",
    // debug: request paths from failing extractors, middleware::Logger.
    "actix_web",
];

/// Whether a record at `level` from `target` may pass the caps. Records at
/// [`CAP`] or above never scan the list (the access log is one per request).
pub fn allowed(target: &str, level: Level) -> bool {
    level <= CAP || !CAPPED_TARGETS.iter().any(|p| target.starts_with(p))
}

/// A logger that drops what [`allowed`] refuses and passes the rest to the
/// inner one. A wrapper rather than `Builder::filter_module`: that replaces
/// a directive of the same name only, so `RUST_LOG=tokio_postgres::query=debug`
/// (a longer, hence winning, directive) would still print parameters; and it
/// would raise a target that `RUST_LOG=warn` keeps lower.
pub struct Capped<L>(pub L);

impl<L: Log> Log for Capped<L> {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        allowed(metadata.target(), metadata.level()) && self.0.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if allowed(record.target(), record.level()) {
            self.0.log(record);
        }
    }

    fn flush(&self) {
        self.0.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_logger(spec: &str) -> env_logger::Logger {
        env_logger::Builder::new().parse_filters(spec).build()
    }

    fn meta(target: &str, level: Level) -> Metadata<'_> {
        Metadata::builder().target(target).level(level).build()
    }

    #[test]
    fn dependencies_that_log_request_data_stop_at_info() {
        let logger = Capped(env_logger("trace"));
        for target in [
            "tokio_postgres::query",
            "tokio_postgres::prepare",
            "postgres_protocol::message",
            "deadpool.postgres",
            "deadpool_postgres",
            "redis::aio",
            "reqwest::connect",
            "hyper::proto::h1::role",
            "hyper_util::client::legacy::pool",
            "h2::codec::framed_write",
            "rustls::server::tls13",
            "tokio_rustls",
            "actix_http::h1::decoder",
            "actix_web::types::json",
        ] {
            assert!(logger.enabled(&meta(target, Level::Info)), "{target}");
            assert!(!logger.enabled(&meta(target, Level::Debug)), "{target}");
            assert!(!logger.enabled(&meta(target, Level::Trace)), "{target}");
        }
    }

    #[test]
    fn our_own_targets_and_harmless_ones_follow_rust_log() {
        let logger = Capped(env_logger("trace"));
        for target in [
            "realtime_token::error",
            "realtime_token::session::store",
            crate::telemetry::ACCESS_TARGET,
            "actix_server::worker",
            "mio::poll",
        ] {
            assert!(logger.enabled(&meta(target, Level::Trace)), "{target}");
        }
        let quiet = Capped(env_logger("warn,realtime_token=debug"));
        assert!(quiet.enabled(&meta("realtime_token::error", Level::Debug)));
        // A cap never raises: at `warn`, a capped target's info stays off.
        assert!(!quiet.enabled(&meta("tokio_postgres::connection", Level::Info)));
    }

    #[test]
    fn a_longer_directive_beats_filter_module_but_not_the_cap() {
        // env_logger: filter_module replaces the same-named directive only;
        // the longest matching directive decides.
        let mut builder = env_logger::Builder::new();
        builder.parse_filters("tokio_postgres=trace,tokio_postgres::query=debug");
        builder.filter_module("tokio_postgres", log::LevelFilter::Info);
        let plain = builder.build();
        assert!(!plain.enabled(&meta("tokio_postgres::connection", Level::Trace)));
        assert!(plain.enabled(&meta("tokio_postgres::query", Level::Debug)));
        let capped = Capped(plain);
        assert!(!capped.enabled(&meta("tokio_postgres::query", Level::Debug)));
    }

    #[test]
    fn capped_records_do_not_reach_the_inner_logger() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        struct Count(AtomicUsize);
        impl Log for Count {
            fn enabled(&self, _: &Metadata<'_>) -> bool {
                true
            }
            fn log(&self, _: &Record<'_>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
            fn flush(&self) {}
        }
        let logger = Capped(Count(AtomicUsize::new(0)));
        let record = |target, level| {
            logger.log(
                &Record::builder()
                    .target(target)
                    .level(level)
                    .args(format_args!("x"))
                    .build(),
            );
        };
        record("tokio_postgres::query", Level::Debug);
        record("reqwest::connect", Level::Trace);
        assert_eq!(logger.0 .0.load(Ordering::SeqCst), 0);
        record("tokio_postgres::connection", Level::Info);
        record("realtime_token::error", Level::Trace);
        assert_eq!(logger.0 .0.load(Ordering::SeqCst), 2);
    }
}

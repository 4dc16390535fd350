//! Logging: set-up (text or JSON lines, written off the request path), the
//! access log middleware, and helpers that keep secrets out of log lines.

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage as _};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::ApiError;

/// Log line format (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `[time LEVEL target] message`
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The access log's `log` target; `RUST_LOG=access=off` silences it alone.
pub const ACCESS_TARGET: &str = "access";

/// Lines waiting for the writer thread before logging applies backpressure.
const QUEUE_LINES: usize = 65_536;

struct Sink {
    tx: SyncSender<Vec<u8>>,
    pending: Arc<AtomicUsize>,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// A `Write` that hands each log record to a background thread, so a
/// request never waits on stderr.
struct QueueWriter;

impl std::io::Write for QueueWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let sink = SINK.get().expect("logging initialised");
        sink.pending.fetch_add(1, Ordering::SeqCst);
        // A full queue blocks rather than dropping lines.
        if sink.tx.send(buf.to_vec()).is_err() {
            sink.pending.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn writer_thread(rx: Receiver<Vec<u8>>, pending: Arc<AtomicUsize>) {
    let stderr = std::io::stderr();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stderr.lock());
    while let Ok(line) = rx.recv() {
        let _ = out.write_all(&line);
        let mut written = 1;
        while let Ok(line) = rx.try_recv() {
            let _ = out.write_all(&line);
            written += 1;
        }
        let _ = out.flush();
        pending.fetch_sub(written, Ordering::SeqCst);
    }
}

/// Initialises logging with `info` as the default level (`RUST_LOG`
/// overrides). Records go to stderr through a background thread.
pub fn init_logging(format: LogFormat) {
    if SINK.get().is_none() {
        let (tx, rx) = sync_channel(QUEUE_LINES);
        let pending = Arc::new(AtomicUsize::new(0));
        let for_thread = pending.clone();
        if SINK.set(Sink { tx, pending }).is_ok() {
            std::thread::Builder::new()
                .name("log-writer".into())
                .spawn(move || writer_thread(rx, for_thread))
                .expect("spawn the log writer");
        }
    }
    let env = env_logger::Env::default().default_filter_or("info");
    let mut builder = env_logger::Builder::from_env(env);
    builder.target(env_logger::Target::Pipe(Box::new(QueueWriter)));
    if format == LogFormat::Json {
        builder.format(|buf, record| {
            let ts = buf.timestamp_millis().to_string();
            let message = record.args().to_string();
            let head = format!(
                "{{\"ts\":{},\"level\":{},\"target\":{}",
                json_string(&ts),
                json_string(record.level().as_str()),
                json_string(record.target())
            );
            // Access records carry their fields as a JSON object already.
            match message.strip_prefix('{') {
                Some(fields) if record.target() == ACCESS_TARGET => {
                    writeln!(buf, "{head},{fields}")
                }
                _ => writeln!(buf, "{head},\"msg\":{}}}", json_string(&message)),
            }
        });
    }
    // A second init (tests, embedding) keeps the first logger.
    let _ = builder.try_init();
}

/// Waits (up to `limit`) until every queued log line is written.
pub fn flush_logs(limit: Duration) {
    let Some(sink) = SINK.get() else { return };
    let deadline = Instant::now() + limit;
    while sink.pending.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// A short, non-reversible fingerprint of a sensitive value (session id,
/// cookie, token) for correlating log lines without logging the value.
pub fn fingerprint(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// The authenticated subject, left in the request's extensions by the
/// token handler for the access log.
#[derive(Debug, Clone)]
pub struct LoggedSubject(pub String);

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The caller's `X-Request-Id` when it is short and plain, else a new one.
fn request_id(req: &ServiceRequest) -> HeaderValue {
    let incoming = req.headers().get(&REQUEST_ID).filter(|v| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= 64
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    });
    match incoming {
        Some(v) => v.clone(),
        None => {
            let id = format!("{:016x}", rand::thread_rng().next_u64());
            HeaderValue::from_str(&id).expect("hex is a valid header value")
        }
    }
}

/// Middleware: one access-log line and one metrics observation per
/// request; echoes `X-Request-Id`. Logs the route pattern (never the query),
/// the status, the duration, the client address and the subject when known:
/// never a cookie, token, secret or `Authorization` header.
pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let rid = request_id(&req);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().clone();
    let logging = log::log_enabled!(target: ACCESS_TARGET, log::Level::Info);
    let ip = state
        .as_ref()
        .filter(|_| logging)
        .and_then(|s| s.limits.client_ip(req.request()));
    let result = next.call(req).await;
    let took = started.elapsed();
    let (route, status, code, sub) = match &result {
        Ok(res) => (
            res.request().match_pattern(),
            res.status(),
            res.response()
                .error()
                .and_then(|e| e.as_error::<ApiError>())
                .map(ApiError::code),
            res.request()
                .extensions()
                .get::<LoggedSubject>()
                .map(|s| s.0.clone()),
        ),
        Err(e) => (
            None,
            e.as_response_error().status_code(),
            e.as_error::<ApiError>().map(ApiError::code),
            None,
        ),
    };
    let route = route.unwrap_or_else(|| "(unmatched)".into());
    if let Some(state) = &state {
        state.metrics.http_request(&route, status.as_u16(), took);
        if let Some(code) = code {
            state.metrics.rejected(code);
        }
    }
    if logging {
        let ip = ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        let rid = rid.to_str().unwrap_or("-");
        let ms = took.as_secs_f64() * 1000.0;
        let sub = sub.as_deref().unwrap_or("-");
        let code = code.unwrap_or("-");
        if state
            .as_ref()
            .is_some_and(|s| s.log_format == LogFormat::Json)
        {
            log::info!(
                target: ACCESS_TARGET,
                "{{\"method\":{},\"route\":{},\"status\":{},\"ms\":{ms:.3},\"ip\":{},\"sub\":{},\"error\":{},\"request_id\":{}}}",
                json_string(method.as_str()),
                json_string(&route),
                status.as_u16(),
                json_string(&ip),
                json_string(sub),
                json_string(code),
                json_string(rid)
            );
        } else {
            log::info!(
                target: ACCESS_TARGET,
                "{method} {route} {} {ms:.3}ms ip={ip} sub={sub} error={code} rid={rid}",
                status.as_u16()
            );
        }
    }
    result.map(|mut res| {
        res.headers_mut().insert(REQUEST_ID.clone(), rid);
        res
    })
}

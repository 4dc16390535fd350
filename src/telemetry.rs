//! Logging: set-up (text or JSON lines, written off the request path) and
//! the access log middleware, which never logs a cookie, token or secret.

use std::io::Write as _;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

mod capped;
pub mod fields;

pub use capped::CAPPED_TARGETS;
use fields::json_string;

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

/// Bytes buffered before the writer thread is woken early.
const WAKE_BYTES: usize = 64 * 1024;
/// Bytes buffered before a logging thread waits for the writer (nothing is dropped).
const MAX_BYTES: usize = 8 * 1024 * 1024;
/// How often the writer thread writes out what has accumulated.
const WRITE_EVERY: Duration = Duration::from_millis(20);

#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    writing: bool,
}

/// Log records on their way to stderr. Logging threads append under a short
/// lock and never wake the writer per line (a wake-up per record costs more
/// than the record); the writer thread writes out every few milliseconds.
struct Sink {
    buffer: Mutex<Buffer>,
    wake_writer: Condvar,
    written: Condvar,
}

static SINK: OnceLock<Sink> = OnceLock::new();

thread_local! {
    // This thread's last formatted log timestamp (whole seconds).
    static CACHED_SECOND: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((u64::MAX, String::new())) };
}

impl Sink {
    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The `Write` env_logger writes each record to.
struct QueueWriter;

impl std::io::Write for QueueWriter {
    fn write(&mut self, record: &[u8]) -> std::io::Result<usize> {
        let sink = SINK.get().expect("logging initialised");
        let mut buffer = sink.lock();
        while buffer.bytes.len() > MAX_BYTES {
            sink.wake_writer.notify_one();
            buffer = sink.written.wait(buffer).unwrap_or_else(|p| p.into_inner());
        }
        buffer.bytes.extend_from_slice(record);
        if buffer.bytes.len() >= WAKE_BYTES {
            sink.wake_writer.notify_one();
        }
        Ok(record.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn writer_thread(sink: &'static Sink) {
    let mut out = std::io::stderr();
    let mut spare = Vec::new();
    loop {
        let mut buffer = sink.lock();
        if buffer.bytes.len() < WAKE_BYTES {
            // Woken early by a full buffer or a flush; else write in batches.
            buffer = sink
                .wake_writer
                .wait_timeout(buffer, WRITE_EVERY)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        std::mem::swap(&mut buffer.bytes, &mut spare);
        buffer.writing = !spare.is_empty();
        drop(buffer);
        if !spare.is_empty() {
            let _ = out.write_all(&spare);
            let _ = out.flush();
            spare.clear();
            sink.lock().writing = false;
            sink.written.notify_all();
        }
    }
}

/// Initialises logging with `info` as the default level (`RUST_LOG`
/// overrides, except that [`CAPPED_TARGETS`] never log below `info`).
/// Records go to stderr through a background writer thread.
pub fn init_logging(format: LogFormat) {
    let mut first = false;
    let sink = SINK.get_or_init(|| {
        first = true;
        Sink {
            buffer: Mutex::new(Buffer::default()),
            wake_writer: Condvar::new(),
            written: Condvar::new(),
        }
    });
    if first {
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || writer_thread(sink))
            .expect("spawn the log writer");
    }
    let env = env_logger::Env::default().default_filter_or("info");
    let mut builder = env_logger::Builder::from_env(env);
    builder.target(env_logger::Target::Pipe(Box::new(QueueWriter)));
    match format {
        LogFormat::Text => {
            builder.format(|buf, record| {
                CACHED_SECOND.with(|cached| {
                    let mut cached = cached.borrow_mut();
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    // env_logger's own header formats the time for every
                    // record; at one access line per request that costs ~6%.
                    if cached.0 != now {
                        *cached = (now, buf.timestamp().to_string());
                    }
                    writeln!(
                        buf,
                        "[{} {:<5} {}] {}",
                        cached.1,
                        record.level(),
                        record.target(),
                        record.args()
                    )
                })
            });
        }
        LogFormat::Json => {
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
    }
    let logger = builder.build();
    let max_level = logger.filter();
    // A second init (tests, embedding) keeps the first logger.
    if log::set_boxed_logger(Box::new(capped::Capped(logger))).is_ok() {
        log::set_max_level(max_level);
    }
}

/// Waits (up to `limit`) until every buffered log line is written.
pub fn flush_logs(limit: Duration) {
    let Some(sink) = SINK.get() else { return };
    let deadline = Instant::now() + limit;
    let mut buffer = sink.lock();
    while (!buffer.bytes.is_empty() || buffer.writing) && Instant::now() < deadline {
        sink.wake_writer.notify_one();
        buffer = sink
            .written
            .wait_timeout(buffer, Duration::from_millis(10))
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

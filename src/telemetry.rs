//! Logging: set-up (text or JSON lines, written off the request path) and
//! the access log middleware, which never logs a cookie, token or secret.

use std::cell::RefCell;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
/// Bytes buffered before records are dropped (and counted) rather than
/// making a request wait for stderr.
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
/// A logging thread never waits for stderr: past [`MAX_BYTES`] waiting to be
/// written, a record is dropped and counted ([`dropped_records`]).
struct Sink {
    buffer: Mutex<Buffer>,
    wake_writer: Condvar,
    written: Condvar,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Records dropped because stderr did not keep up.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The format of the logger [`init_logging`] installed; unset while another
/// logger (an embedding app's) is the `log` crate's.
static OURS: OnceLock<LogFormat> = OnceLock::new();

/// Whether [`init_logging`] installed the logger (read per access record).
static OURS_ACTIVE: AtomicBool = AtomicBool::new(false);

thread_local! {
    // This thread's last formatted log timestamp (whole seconds).
    static CACHED_SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    // This thread's access-record prefix (time, level, target) and the
    // second (text) or millisecond (JSON) it was made for.
    static ACCESS_HEAD: RefCell<(u64, Vec<u8>)> = const { RefCell::new((u64::MAX, Vec::new())) };
}

impl Sink {
    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one record made of `parts`, or drops and counts it when
    /// [`MAX_BYTES`] are already waiting: never waits for the writer.
    fn push(&self, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut buffer = self.lock();
        if buffer.bytes.len() + len > MAX_BYTES {
            drop(buffer);
            DROPPED.fetch_add(1, Ordering::Relaxed);
            self.wake_writer.notify_one();
            return;
        }
        for part in parts {
            buffer.bytes.extend_from_slice(part);
        }
        if buffer.bytes.len() >= WAKE_BYTES {
            self.wake_writer.notify_one();
        }
    }
}

/// Log records dropped since start because stderr did not take them as fast
/// as they came (more than 8 MiB waiting): exported as
/// `realtime_token_log_records_dropped_total`.
pub fn dropped_records() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// The `Write` env_logger writes each record to.
struct QueueWriter;

impl std::io::Write for QueueWriter {
    fn write(&mut self, record: &[u8]) -> std::io::Result<usize> {
        SINK.get().expect("logging initialised").push(&[record]);
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
        let _ = OURS.set(format);
        OURS_ACTIVE.store(true, Ordering::Release);
    }
}

/// Writes one `access` record at `info` whose message is `message` (UTF-8),
/// as `log::info!(target: ACCESS_TARGET, "{message}")` would. With the
/// logger of [`init_logging`] the record goes straight to its sink, in the
/// same bytes env_logger's format would write, without formatting
/// machinery or allocation (one access record per request); with any other
/// logger, through `log`. The caller checks that the target is enabled.
pub fn log_access(message: &[u8]) {
    let format = match OURS_ACTIVE.load(Ordering::Acquire) {
        true => OURS.get().copied(),
        false => None,
    };
    let (Some(format), Some(sink)) = (format, SINK.get()) else {
        let message = String::from_utf8_lossy(message);
        log::info!(target: ACCESS_TARGET, "{message}");
        return;
    };
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    ACCESS_HEAD.with(|head| {
        let mut head = head.borrow_mut();
        match format {
            LogFormat::Text => {
                let second = since_epoch.as_secs();
                if head.0 != second {
                    head.1.clear();
                    let ts = timestamp(Duration::from_secs(second), 0);
                    let _ = write!(head.1, "[{ts} INFO  {ACCESS_TARGET}] ");
                    head.0 = second;
                }
                sink.push(&[&head.1, message, b"\n"]);
            }
            LogFormat::Json => {
                let milli = since_epoch.as_millis() as u64;
                if head.0 != milli {
                    head.1.clear();
                    let ts = timestamp(Duration::from_millis(milli), 3);
                    let _ = write!(
                        head.1,
                        "{{\"ts\":{},\"level\":\"INFO\",\"target\":{},",
                        json_string(&ts),
                        json_string(ACCESS_TARGET)
                    );
                    head.0 = milli;
                }
                // Access messages are a JSON object: its fields join the head's.
                let fields = message.strip_prefix(b"{").unwrap_or(message);
                sink.push(&[&head.1, fields, b"\n"]);
            }
        }
    });
}

/// RFC 3339 UTC with `digits` fractional digits, as env_logger's
/// `timestamp()` (0) and `timestamp_millis()` (3) print it.
fn timestamp(since_epoch: Duration, digits: usize) -> String {
    let time = UNIX_EPOCH + since_epoch;
    match jiff::Timestamp::try_from(time) {
        Ok(ts) if digits == 0 => format!("{ts:.0}"),
        Ok(ts) => format!("{ts:.3}"),
        Err(_) => String::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_sink_drops_and_counts_records_instead_of_waiting() {
        // No writer thread drains this sink: a record that waited for room
        // would wait forever.
        let sink = Sink {
            buffer: Mutex::new(Buffer::default()),
            wake_writer: Condvar::new(),
            written: Condvar::new(),
        };
        let record = [b'x'; 1000];
        let fits = MAX_BYTES / record.len();
        let before = dropped_records();
        for _ in 0..fits + 5 {
            sink.push(&[&record[..500], &record[500..]]);
        }
        assert_eq!(sink.lock().bytes.len(), fits * record.len());
        // Other tests may drop records of their own meanwhile (none do).
        assert!(dropped_records() - before >= 5);
    }
}

//! Session stores: where a session id is looked up (one file per store).
//! The authenticator that composes a session-id cookie codec, a store and
//! a mapping is `session::codec::stored`.

use futures_util::future::BoxFuture;
use serde_json::Value;

use super::SessionError;
use crate::address::ClientAddr;
use crate::ratelimit::{FoldedLookup, RateLimits, SubjectHints};

mod pg_pool;
mod pg_tls;
mod postgres;
mod redis;

pub use pg_pool::{pool_from_settings, PgPools, PgTarget};
pub use pg_tls::SslMode;
pub use postgres::{describe_error, is_table_name, PgColumns, PostgresStore};
pub use redis::RedisStore;

/// How a stored session becomes a session document: express-session's
/// JSON ([`ExpressDocument`]), or a framework's signed encoding.
pub trait StoredDocument: Send + Sync + 'static {
    /// The document in `stored`; `Unauthenticated` when it is expired or
    /// its signature fails, `Unavailable` when the store holds garbage.
    fn open(&self, stored: &str, now_unix: u64) -> Result<Value, SessionError>;
}

/// Where session JSON is kept, by session id.
pub trait SessionStore: Send + Sync + 'static {
    /// The backend's name for messages.
    fn name(&self) -> &'static str;
    /// The session JSON for `sid`, `None` when there is no such (live) session.
    fn load(&self, sid: String) -> BoxFuture<'static, Result<Option<String>, String>>;
    /// Checks the store answers.
    fn ping(&self) -> BoxFuture<'static, Result<(), String>>;

    /// Loads `sid` and runs the request's shared rate-limit checks in the
    /// same round trip, when `limits` keeps its buckets where this store
    /// keeps sessions; `None` when it does not (or cannot).
    fn load_folded(
        &self,
        _sid: &str,
        _limits: &RateLimits,
        _client: Option<ClientAddr>,
        _hints: &SubjectHints,
    ) -> Option<BoxFuture<'static, Result<FoldedLookup, String>>> {
        None
    }
}

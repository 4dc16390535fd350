//! [`SessionCheck`]: what a session must still pass after its cookie or
//! stored document is read, against the app's other data (Django: the
//! user's row and password hash). Store and codec authenticators run it
//! inside their lookup, so a cached session skips it until its entry
//! expires.

use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use serde_json::Value;

use super::SessionError;

/// A check of an opened session document against the app's data.
pub trait SessionCheck: Send + Sync + 'static {
    /// `Ok` while `doc` still vouches for its user; `Unauthenticated` where
    /// the framework would refuse it; `Unavailable` when the data cannot be
    /// read (never a pass).
    fn check(&self, doc: &Value) -> BoxFuture<'static, Result<(), SessionError>>;

    /// Whether the data can be read (for readiness).
    fn ready(&self) -> BoxFuture<'static, Result<(), String>>;
}

/// Runs `check` on `doc` within what is left of `timeout` since `started`;
/// running late is `Unavailable`.
pub async fn bounded(
    check: &dyn SessionCheck,
    doc: &Value,
    started: Instant,
    timeout: Duration,
) -> Result<(), SessionError> {
    let left = timeout.saturating_sub(started.elapsed());
    tokio::time::timeout(left, check.check(doc))
        .await
        .map_err(|_| {
            SessionError::Unavailable(format!("the session check timed out after {timeout:?}"))
        })?
}

/// A check's readiness within `timeout`; running late is `Unavailable`.
pub async fn ready_within(
    ready: BoxFuture<'static, Result<(), String>>,
    timeout: Duration,
) -> Result<(), SessionError> {
    tokio::time::timeout(timeout, ready)
        .await
        .map_err(|_| SessionError::Unavailable("the session check timed out".into()))?
        .map_err(SessionError::Unavailable)
}

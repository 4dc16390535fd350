//! [`Readiness`]: a backend's readiness (the session backend's, the room
//! source's), checked at most once a second for the whole process, so
//! `/readyz` cannot become a way to flood the store or the upstream.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

use super::{SessionAuthenticator, SessionError};

/// How long one readiness answer is reused.
const REUSE_FOR: Duration = Duration::from_secs(1);
/// Bound on one check, whatever the backend's own timeouts.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The last readiness answer and when it was found; `E` is the backend's
/// error.
#[derive(Debug)]
pub struct Readiness<E = SessionError> {
    // An async lock: while one check runs, other callers wait for its
    // answer instead of starting their own.
    last: tokio::sync::Mutex<Option<(Instant, Result<(), E>)>>,
}

impl<E> Default for Readiness<E> {
    fn default() -> Self {
        Self {
            last: tokio::sync::Mutex::new(None),
        }
    }
}

impl Readiness<SessionError> {
    /// `authenticator`'s readiness, reusing an answer younger than a second
    /// (failures too).
    pub async fn check(
        &self,
        authenticator: &dyn SessionAuthenticator,
    ) -> Result<(), SessionError> {
        self.check_with(
            || authenticator.ready(),
            || SessionError::Unavailable("readiness check timed out".into()),
        )
        .await
    }
}

impl<E: Clone + Display> Readiness<E> {
    /// The answer of `check()`, bounded by 2 s (`timed_out()` past that),
    /// or the answer found less than a second ago (failures too).
    pub async fn check_with<F>(
        &self,
        check: impl FnOnce() -> F,
        timed_out: impl FnOnce() -> E,
    ) -> Result<(), E>
    where
        F: Future<Output = Result<(), E>>,
    {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = &*last {
            if at.elapsed() < REUSE_FOR {
                return answer.clone();
            }
        }
        let answer = tokio::time::timeout(CHECK_TIMEOUT, check())
            .await
            .unwrap_or_else(|_| Err(timed_out()));
        if let Err(why) = &answer {
            log::warn!("not ready: {why}");
        }
        *last = Some((Instant::now(), answer.clone()));
        answer
    }
}

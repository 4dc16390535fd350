//! [`Readiness`]: the session backend's readiness, checked at most once a
//! second for the whole process, so `/readyz` cannot become a way to flood
//! the store or the upstream.

use std::time::{Duration, Instant};

use super::{SessionAuthenticator, SessionError};

/// How long one readiness answer is reused.
const REUSE_FOR: Duration = Duration::from_secs(1);
/// Bound on one check, whatever the backend's own timeouts.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The last readiness answer and when it was found.
#[derive(Debug, Default)]
pub struct Readiness {
    // An async lock: while one check runs, other callers wait for its
    // answer instead of starting their own.
    last: tokio::sync::Mutex<Option<(Instant, Result<(), SessionError>)>>,
}

impl Readiness {
    /// `authenticator`'s readiness, reusing an answer younger than a second
    /// (failures too).
    pub async fn check(
        &self,
        authenticator: &dyn SessionAuthenticator,
    ) -> Result<(), SessionError> {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = &*last {
            if at.elapsed() < REUSE_FOR {
                return answer.clone();
            }
        }
        let answer = tokio::time::timeout(CHECK_TIMEOUT, authenticator.ready())
            .await
            .unwrap_or_else(|_| {
                Err(SessionError::Unavailable(
                    "readiness check timed out".into(),
                ))
            });
        if let Err(SessionError::Unavailable(why)) = &answer {
            log::warn!("not ready: {why}");
        }
        *last = Some((Instant::now(), answer.clone()));
        answer
    }
}

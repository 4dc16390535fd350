//! Waiting on an event: poll a check until it says the event happened.
//! The deadline is only a safety net against a test that would hang; no
//! test relies on it passing, and a test that reaches it fails naming what
//! it waited for.

use std::ops::AsyncFnMut;
use std::time::{Duration, Instant};

/// How long a wait may last before the test fails: far longer than any
/// event takes on a loaded machine, so it never decides a result.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The first pause between two checks; each pause doubles up to
/// [`MAX_PAUSE`], so quick events are seen at once and slow ones are not
/// asked for too often (a check may spend a rate-limited request).
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const MAX_PAUSE: Duration = Duration::from_millis(200);

/// What a check answers: `true` or `Some(value)` once the awaited event has
/// happened.
pub trait Outcome {
    /// What the wait returns.
    type Value;
    /// `Some` when the event has happened.
    fn happened(self) -> Option<Self::Value>;
}

impl Outcome for bool {
    type Value = ();
    fn happened(self) -> Option<()> {
        self.then_some(())
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn happened(self) -> Option<T> {
        self
    }
}

/// Runs `check` until it answers `true` or `Some(value)` (the value is
/// returned); panics naming `what` when [`DEADLINE`] passes first.
pub async fn eventually<O: Outcome>(what: &str, mut check: impl AsyncFnMut() -> O) -> O::Value {
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    loop {
        if let Some(value) = check().await.happened() {
            return value;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "gave up after {DEADLINE:?} waiting for {what}"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// [`eventually`] for code outside the async runtime (threads driving child
/// processes, `spawn_blocking`): the same check, pauses and deadline.
pub fn eventually_blocking<O: Outcome>(what: &str, mut check: impl FnMut() -> O) -> O::Value {
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    loop {
        if let Some(value) = check().happened() {
            return value;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "gave up after {DEADLINE:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

//! [`Drain`]: whether this process is draining. After SIGTERM it stays up
//! for `SHUTDOWN_GRACE`, serving every request, while `/readyz` answers
//! 503 so that load balancers take it out before it stops.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set once, when the process starts to drain.
#[derive(Debug, Default)]
pub struct Drain {
    draining: AtomicBool,
}

impl Drain {
    /// From now on, [`Drain::is_draining`] is true.
    pub fn start(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// True after [`Drain::start`].
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

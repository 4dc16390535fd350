//! Logging set-up and helpers that keep secrets out of log lines.

use sha2::{Digest, Sha256};

/// Initialises `env_logger` with `info` as the default level (`RUST_LOG` overrides).
pub fn init_logging() {
    let env = env_logger::Env::default().default_filter_or("info");
    // A second init (tests, embedding) is harmless, so its error is ignored.
    let _ = env_logger::Builder::from_env(env).try_init();
}

/// A short, non-reversible fingerprint of a sensitive value (session id,
/// cookie, token) for correlating log lines without logging the value.
pub fn fingerprint(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

//! Presets: what each `SESSION_BACKEND` value means. A preset names the
//! cookie format (by the function that builds its authenticator), the store
//! it reads, and the defaults of every setting. A new session format adds
//! its codec file and one line here; `config` reads the defaults and the
//! store's settings from this table, and nothing else changes.

use std::sync::Arc;
use std::time::Duration;

use super::codec::cookie_session;
use super::{signed_cookie, store, upstream, SessionAuthenticator, SessionConfig};
use crate::metrics::CacheMetrics;

/// Builds a backend's authenticator from the validated settings. Store
/// backends connect lazily, so this needs a Tokio runtime but no reachable
/// store; `Err` names the variable at fault.
pub type Build = fn(&SessionConfig, CacheMetrics) -> Result<Arc<dyn SessionAuthenticator>, String>;

/// Where a backend's sessions live; `config` reads that store's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The cookie carries the session.
    None,
    /// Redis (`REDIS_URL`, `SESSION_REDIS_PREFIX`).
    Redis,
    /// PostgreSQL (`DATABASE_URL`, `SESSION_PG_TABLE`).
    Postgres,
    /// The app's "who am I" endpoint (`SESSION_UPSTREAM_*`).
    Upstream,
}

/// What `SESSION_SECRET` does for a backend, which decides whether it is
/// required and how strictly a weak one is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretRole {
    /// Not used (`upstream`).
    Unused,
    /// Signs a session id that the store must also know: required while
    /// `SESSION_COOKIE_SIGNED` is on, and a weak one is only warned of.
    SignsSessionId,
    /// Vouches for the session on its own: required, and a weak one is
    /// refused at start-up.
    VouchesAlone,
}

/// The defaults one `SESSION_BACKEND` value brings.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// The `SESSION_BACKEND` value.
    pub name: &'static str,
    /// The session cookie's default name (`SESSION_COOKIE`; `upstream`
    /// forwards the whole `Cookie` header and does not read it).
    pub cookie: &'static str,
    /// The default JSON pointer to the user id (`SESSION_SUBJECT_POINTER`).
    pub subject_pointer: &'static str,
    /// The default `SESSION_CACHE_TTL` (zero: no cache).
    pub cache_ttl: Duration,
    /// What `SESSION_SECRET` does.
    pub secret: SecretRole,
    /// Where sessions are kept.
    pub store: StoreKind,
    /// Builds the authenticator.
    pub build: Build,
}

/// Every built-in backend, the default first.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "signed-cookie",
        cookie: "session",
        subject_pointer: "/userId",
        cache_ttl: Duration::ZERO,
        secret: SecretRole::VouchesAlone,
        store: StoreKind::None,
        build: signed_cookie::build,
    },
    Preset {
        name: "redis",
        cookie: "connect.sid",
        subject_pointer: "/userId",
        cache_ttl: Duration::ZERO,
        secret: SecretRole::SignsSessionId,
        store: StoreKind::Redis,
        build: store::build,
    },
    Preset {
        name: "postgres",
        cookie: "connect.sid",
        subject_pointer: "/userId",
        cache_ttl: Duration::ZERO,
        secret: SecretRole::SignsSessionId,
        store: StoreKind::Postgres,
        build: store::build,
    },
    Preset {
        name: "cookie-session",
        cookie: "session",
        subject_pointer: "/userId",
        cache_ttl: Duration::ZERO,
        secret: SecretRole::VouchesAlone,
        store: StoreKind::None,
        build: cookie_session::build,
    },
    Preset {
        name: "upstream",
        cookie: "session",
        subject_pointer: "/id",
        cache_ttl: Duration::from_secs(2),
        secret: SecretRole::Unused,
        store: StoreKind::Upstream,
        build: upstream::build,
    },
];

/// The preset called `name`, or `None` for an unknown backend.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The backend names, for error messages: `a, b, c or d`.
pub fn names() -> String {
    let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_comes_first_and_names_read_as_a_list() {
        assert_eq!(PRESETS[0].name, "signed-cookie");
        assert_eq!(
            names(),
            "signed-cookie, redis, postgres, cookie-session or upstream"
        );
        assert_eq!(preset("upstream").unwrap().subject_pointer, "/id");
        assert!(preset("memcached").is_none());
    }

    #[test]
    fn names_are_unique() {
        for (i, p) in PRESETS.iter().enumerate() {
            assert!(PRESETS[..i].iter().all(|q| q.name != p.name), "{}", p.name);
        }
    }
}

//! [`RoomsSettings`]: the room source and its bounds (`config` reads them
//! from the environment).

use std::time::Duration;

use crate::policy::Template;
use crate::redis_conn::Topology;
use crate::secret::Secret;
use crate::session::store::PgTarget;

/// Default `ROOMS_TIMEOUT`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default `ROOMS_MAX`.
pub const DEFAULT_MAX: usize = 256;

/// Where rooms come from besides the env policy, and the bounds on it.
#[derive(Debug, Clone)]
pub struct RoomsSettings {
    /// `ROOMS_QUERY`, `ROOMS_REDIS_KEY` or `ROOMS_URL` (at most one).
    pub source: SourceSettings,
    /// `ROOMS_TIMEOUT`: bound on one source lookup; past it the answer is
    /// 503 `rooms_unavailable`.
    pub timeout: Duration,
    /// `ROOMS_MAX`: most rooms one token carries when the request names
    /// none.
    pub max: usize,
    /// `ROOMS_CACHE_TTL`: how long a source answer is reused per subject
    /// and requested rooms; zero (the default) asks on every request.
    pub cache_ttl: Duration,
    /// Most cached answers (the session cache's `SESSION_CACHE_SIZE`).
    pub cache_size: usize,
    /// Most cached answers one client address holds (the session cache's
    /// `SESSION_CACHE_PER_CLIENT`).
    pub cache_per_client: usize,
}

impl Default for RoomsSettings {
    fn default() -> Self {
        Self {
            source: SourceSettings::None,
            timeout: DEFAULT_TIMEOUT,
            max: DEFAULT_MAX,
            cache_ttl: Duration::ZERO,
            cache_size: 10_000,
            cache_per_client: 1000,
        }
    }
}

/// The room source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSettings {
    /// The env policy alone.
    None,
    /// `ROOMS_QUERY` on PostgreSQL.
    Query(QuerySettings),
    /// `ROOMS_REDIS_KEY`: a Redis set per user.
    RedisSet(RedisSetSettings),
    /// `ROOMS_URL`: the app's own endpoint.
    Url(UrlSettings),
}

impl SourceSettings {
    /// The variable that configures the source, if any.
    pub fn var(&self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Query(_) => Some("ROOMS_QUERY"),
            Self::RedisSet(_) => Some("ROOMS_REDIS_KEY"),
            Self::Url(_) => Some("ROOMS_URL"),
        }
    }
}

/// `ROOMS_QUERY` and its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySettings {
    /// The query: `$1` the subject (text), `$2` the requested rooms
    /// (`text[]`, NULL when none are named); one text column out.
    pub query: String,
    /// `ROOMS_DATABASE_URL`, else `DATABASE_URL`, with its TLS settings.
    pub database: PgTarget,
    /// Which of the two variables named the database.
    pub database_var: &'static str,
}

/// `ROOMS_REDIS_KEY` on the service's Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSetSettings {
    /// The key template, e.g. `rooms:{sub}` (placeholders and separator
    /// rule as in the env policy; an array attribute names several sets).
    pub key: Template,
    /// `REDIS_URL` (may hold a password); `rediss://` for TLS.
    pub url: Secret,
    /// `REDIS_CA_FILE`.
    pub ca_pem: Option<Vec<u8>>,
    /// `REDIS_SENTINELS` + `REDIS_SENTINEL_MASTER`, or `REDIS_CLUSTER`.
    pub topology: Topology,
}

/// `ROOMS_URL` and the cookies it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlSettings {
    /// `ROOMS_URL` (may hold credentials).
    pub url: Secret,
    /// Which of the caller's cookies are forwarded.
    pub cookies: CookieForward,
}

/// The caller's cookies a request to `ROOMS_URL` carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieForward {
    /// These session cookies (each with its chunks and `__Secure-` /
    /// `__Host-` forms): `ROOMS_URL_COOKIES`, else the session cookie.
    Named(Vec<String>),
    /// The whole `Cookie` header (the `upstream` backend without
    /// `SESSION_UPSTREAM_COOKIES`, which forwards it all too).
    All,
}

//! [`AppState`]: what the request handlers share, built once from the
//! configuration. Middleware does not read it; each gets its own data.

use std::sync::Arc;

use crate::admin::AdminKey;
use crate::config::Config;
use crate::drain::Drain;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimits;
use crate::rooms::Rooms;
use crate::session::readiness::Readiness;
use crate::session::SessionAuthenticator;
use crate::token::TokenIssuer;

/// Everything a request handler needs, shared by all workers.
pub struct AppState {
    /// Signs tokens.
    pub issuer: TokenIssuer,
    /// Grants rooms: the env policy and the room source.
    pub rooms: Rooms,
    /// Checks sessions.
    pub authenticator: Arc<dyn SessionAuthenticator>,
    /// The backend's readiness, checked at most once a second.
    pub readiness: Readiness,
    /// Set after SIGTERM: `/readyz` answers 503 while requests are served.
    pub drain: Arc<Drain>,
    /// Set when bearer-key minting is enabled.
    pub admin_key: Option<AdminKey>,
    /// Per-client and per-subject rate limits.
    pub limits: RateLimits,
    /// Counters and histograms for `/metrics`.
    pub metrics: Metrics,
    /// The JWKS document (ES256/EdDSA); `None` under HS256.
    pub jwks: Option<bytes::Bytes>,
}

impl AppState {
    /// State for `config` with the given authenticator, rooms and metrics;
    /// `Err` names the setting that cannot be used (a shared-limit Redis
    /// URL).
    pub fn new(
        config: &Config,
        authenticator: Arc<dyn SessionAuthenticator>,
        rooms: Rooms,
        metrics: Metrics,
        drain: Arc<Drain>,
    ) -> Result<Self, String> {
        Ok(Self {
            issuer: TokenIssuer::new(&config.jwt),
            rooms,
            authenticator,
            readiness: Readiness::default(),
            drain,
            admin_key: config.admin_api_key.as_ref().map(AdminKey::new),
            limits: RateLimits::new(&config.limits, metrics.limit_fallbacks())?,
            metrics,
            jwks: config.jwt.jwks().map(bytes::Bytes::from),
        })
    }
}

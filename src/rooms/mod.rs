//! Rooms from the app's own data: a [`RoomSource`] (`ROOMS_QUERY` on
//! PostgreSQL, `ROOMS_REDIS_KEY` on Redis, `ROOMS_URL` at the app) adds
//! grants to the env [`RoomPolicy`], and [`Rooms`] decides a token's rooms
//! from both. One file per source; `cache` asks them (timeout, metrics,
//! validation, `ROOMS_CACHE_TTL`), `grants` checks and joins the values.
//!
//! Granted = env grants ∪ the source's values. Every value is checked as a
//! room pattern; an invalid one is dropped and logged without its content.
//! A source that fails, answers garbage or takes longer than
//! `ROOMS_TIMEOUT` fails the request (503 `rooms_unavailable`): a token
//! never carries fewer or more rooms than the source says.

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use futures_util::future::BoxFuture;

use crate::metrics::RoomMetrics;
use crate::policy::{check_requested, select, PolicyError, RoomPolicy};
use crate::principal::Principal;
use crate::session::readiness::Readiness;
use crate::session::store::PgPools;

mod cache;
mod grants;
pub mod postgres;
pub mod redis;
mod settings;
pub mod url;

use grants::merge;
pub use settings::{
    CookieForward, QuerySettings, RedisSetSettings, RoomsSettings, SourceSettings, UrlSettings,
    DEFAULT_MAX, DEFAULT_TIMEOUT,
};

/// Most values read from a source for one lookup; more fail the lookup
/// (a query should filter by the requested rooms, `$2`).
pub const MAX_SOURCE_VALUES: usize = 10_000;

/// Why a token cannot have the rooms asked for.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RoomsError {
    /// Bad room syntax, nothing granted, or a requested room not granted.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// More rooms granted than `ROOMS_MAX`, and none named.
    #[error(
        "more than {0} rooms are granted to this user; name the rooms you need, e.g. {{\"rooms\": [\"document-42\"]}}"
    )]
    TooMany(usize),
    /// The source failed, timed out or answered garbage; the cause is
    /// logged, never sent.
    #[error("room source unavailable: {0}")]
    Unavailable(String),
}

/// What a source's start-up check found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceCheck {
    /// The configuration cannot work (a query that does not prepare): the
    /// service does not start.
    Invalid(String),
    /// The source does not answer now: the service starts, `/readyz` and
    /// requests say 503 until it does.
    Unreachable(String),
}

/// Who asks for a token besides its principal.
#[derive(Clone, Copy, Default)]
pub struct Caller<'a> {
    /// The request's headers (its cookies, for `ROOMS_URL`); `None` for
    /// admin and CLI minting, which carry no user's session.
    pub headers: Option<&'a HeaderMap>,
    /// The client address a new cache entry counts against.
    pub owner: Option<IpAddr>,
}

/// What a source is asked for one token.
#[derive(Clone, Copy)]
pub struct Ask<'a> {
    /// The token's subject and its session attributes.
    pub principal: &'a Principal,
    /// The rooms the request names, if it names any.
    pub requested: Option<&'a [String]>,
    /// The caller's request headers (its cookies); `None` for admin and
    /// CLI minting, which carry no user's session.
    pub headers: Option<&'a HeaderMap>,
}

/// Where the app keeps who may open what.
pub trait RoomSource: Send + Sync + 'static {
    /// The variable that configures it, for messages (`ROOMS_QUERY`).
    fn var(&self) -> &'static str;

    /// The rooms or patterns granted to `ask.principal`, as the source holds them
    /// (validated by the caller). `Err` says why the source failed.
    fn lookup(&self, ask: Ask<'_>) -> BoxFuture<'static, Result<Vec<String>, String>>;

    /// Whether the source can serve lookups (start-up and `/readyz`).
    fn check(&self) -> BoxFuture<'static, Result<(), SourceCheck>>;
}

/// The env policy and the room source, with their bounds and metrics.
pub struct Rooms {
    policy: RoomPolicy,
    lookups: Option<cache::Lookups>,
    max: usize,
    readiness: Readiness<RoomsError>,
}

impl std::fmt::Debug for Rooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooms")
            .field("policy", &self.policy)
            .field("source", &self.source().map(|s| s.var()))
            .field("max", &self.max)
            .finish()
    }
}

impl Rooms {
    /// The policy and the source `settings` name; PostgreSQL pools come
    /// from `pools` (shared with the session store on the same database).
    /// Connects lazily: no source needs to be reachable yet.
    pub fn new(
        policy: RoomPolicy,
        settings: &RoomsSettings,
        pools: &PgPools,
        metrics: RoomMetrics,
    ) -> Result<Self, String> {
        let source: Option<Arc<dyn RoomSource>> = match &settings.source {
            SourceSettings::None => None,
            SourceSettings::Query(query) => Some(Arc::new(postgres::QuerySource::new(
                query,
                pools,
                settings.timeout,
            )?)),
            SourceSettings::RedisSet(set) => {
                Some(Arc::new(redis::RedisSetSource::new(set, settings.timeout)?))
            }
            SourceSettings::Url(url) => Some(Arc::new(url::UrlSource::new(url, settings.timeout)?)),
        };
        Ok(Self::with_source(policy, source, settings, metrics))
    }

    /// The policy with your own `source` (or none), bounded and cached as
    /// `settings` say.
    pub fn with_source(
        policy: RoomPolicy,
        source: Option<Arc<dyn RoomSource>>,
        settings: &RoomsSettings,
        metrics: RoomMetrics,
    ) -> Self {
        Self {
            policy,
            lookups: source.map(|source| cache::Lookups::new(source, settings, metrics)),
            max: settings.max,
            readiness: Readiness::default(),
        }
    }

    fn source(&self) -> Option<&Arc<dyn RoomSource>> {
        self.lookups.as_ref().map(|l| &l.source)
    }

    /// The token's rooms for `principal`: everything granted (at most
    /// `ROOMS_MAX`), or the `requested` rooms, each covered by a grant.
    pub async fn authorize(
        &self,
        principal: &Principal,
        requested: Option<&[String]>,
        caller: Caller<'_>,
    ) -> Result<Vec<String>, RoomsError> {
        check_requested(requested)?;
        let mut granted = self.policy.grants(principal);
        if let Some(lookups) = &self.lookups {
            let ask = Ask {
                principal,
                requested,
                headers: caller.headers,
            };
            let values = lookups.values(ask, caller.owner).await?;
            granted = merge(granted, &values);
        }
        if requested.is_none() && granted.len() > self.max {
            return Err(RoomsError::TooMany(self.max));
        }
        Ok(select(granted, requested)?)
    }

    /// Whether the source can serve lookups; checked at most once a second.
    pub async fn ready(&self) -> Result<(), RoomsError> {
        let Some(source) = self.source() else {
            return Ok(());
        };
        self.readiness
            .check_with(
                || async {
                    source.check().await.map_err(|e| match e {
                        SourceCheck::Invalid(why) | SourceCheck::Unreachable(why) => {
                            RoomsError::Unavailable(why)
                        }
                    })
                },
                || RoomsError::Unavailable("room source readiness check timed out".into()),
            )
            .await
    }

    /// The source's own check (a `ROOMS_QUERY` prepares), within
    /// `ROOMS_TIMEOUT`; `Ok` without a source.
    pub async fn check_source(&self) -> Result<(), SourceCheck> {
        let Some(lookups) = &self.lookups else {
            return Ok(());
        };
        tokio::time::timeout(lookups.timeout, lookups.source.check())
            .await
            .unwrap_or_else(|_| {
                Err(SourceCheck::Unreachable(format!(
                    "{}: no answer within ROOMS_TIMEOUT",
                    lookups.source.var()
                )))
            })
    }

    /// The start-up check: `Err` (naming the variable) when the source's
    /// configuration cannot work; an unreachable source is only logged.
    pub async fn check_at_startup(&self) -> Result<(), String> {
        match self.check_source().await {
            Ok(()) => Ok(()),
            Err(SourceCheck::Invalid(why)) => Err(why),
            Err(SourceCheck::Unreachable(why)) => {
                log::warn!("room source not checked at start-up, it does not answer: {why}; /readyz says 503 until it does");
                Ok(())
            }
        }
    }
}

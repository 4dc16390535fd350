//! Session authenticators: turn the caller's existing session into a
//! [`Principal`], or say why not.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::HttpRequest;

use crate::address::ClientAddr;
use crate::metrics::CacheMetrics;
use crate::ratelimit::{RateLimited, RateLimits, SubjectCheck};

pub mod cache;
pub mod check;
pub mod codec;
pub mod cookies;
pub mod mapping;
mod max_age;
pub mod preset;
pub mod readiness;
mod refusal;
mod settings;
pub mod signed_cookie;
pub mod store;
pub mod upstream;

pub use crate::principal::{Principal, MAX_SUB_LEN};
pub use codec::StoreAuthenticator;
pub use refusal::Reason;
pub use settings::{CookieValue, FormatSettings, SessionConfig, SettingError, StoreSettings};
pub use signed_cookie::SignedCookieAuthenticator;
pub use store::{PostgresStore, RedisStore, SessionStore};
pub use upstream::UpstreamAuthenticator;

/// Why a session did not yield a principal. The two cases stay apart all
/// the way to the status code: 401 versus 503.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SessionError {
    /// No session, or a bad, expired or revoked one: why, as a code for the
    /// access log, and a detail for the debug log.
    #[error("unauthenticated ({code}): {detail}", code = .0.code(), detail = .1)]
    Unauthenticated(Reason, &'static str),
    /// The session store or upstream failed; the cause is logged, never sent.
    #[error("session backend unavailable: {0}")]
    Unavailable(String),
}

/// Why an authentication under rate limits gave no principal.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refused {
    /// The client's bucket was empty; the session was not looked up.
    #[error(transparent)]
    Limited(#[from] RateLimited),
    /// No principal (401) or a failed backend (503).
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// The future [`SessionAuthenticator::authenticate_limited`] returns: the
/// principal, and what is left of the subject's rate-limit check.
pub type LimitedFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(Principal, SubjectCheck), Refused>> + 'a>>;

/// The future an authenticator returns. The trait's two methods return
/// boxed futures of these two types, written as `Box::pin(async move { .. })`,
/// so the trait stays object-safe without a macro.
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<Principal, SessionError>> + 'a>>;

/// The future a readiness check returns.
pub type ReadyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SessionError>> + 'a>>;

/// The plug between this service and the app's sessions. Implement it to
/// authenticate against anything; see `examples/custom_authenticator.rs`.
pub trait SessionAuthenticator: Send + Sync + 'static {
    /// Checks the request's session (cookies, headers) and answers who it is.
    fn authenticate<'a>(&'a self, req: &'a HttpRequest) -> AuthFuture<'a>;

    /// Whether [`authenticate`](Self::authenticate) decides in memory (a
    /// signed or sealed cookie; key sets fetched at most once per interval,
    /// not per request), so a refused request costs no lookup anywhere.
    /// Default `false`: the client's bucket is then checked first.
    fn verifies_locally(&self) -> bool {
        false
    }

    /// [`authenticate`](Self::authenticate) under `limits`. A request
    /// without a valid session spends the client's bucket, before any
    /// lookup; the subject's bucket is left to the caller
    /// ([`SubjectCheck::Pending`]). When the session is checked in memory
    /// ([`verifies_locally`](Self::verifies_locally)) and subjects are
    /// limited, a valid one is charged to its subject alone, so anonymous
    /// requests sharing the address (everyone behind a proxy that is not
    /// trusted) cannot starve it. Stores decide before their lookup (see
    /// [`StoreAuthenticator`]).
    fn authenticate_limited<'a>(
        &'a self,
        req: &'a HttpRequest,
        limits: &'a RateLimits,
    ) -> LimitedFuture<'a> {
        Box::pin(async move {
            let client = ClientAddr::of(req);
            if !(self.verifies_locally() && limits.subjects_limited()) {
                limits.check_client(client).await?;
                return Ok((self.authenticate(req).await?, SubjectCheck::Pending));
            }
            match self.authenticate(req).await {
                Ok(principal) => Ok((principal, SubjectCheck::Pending)),
                Err(e) => {
                    limits.check_client(client).await?;
                    Err(e.into())
                }
            }
        })
    }

    /// Checks that the backend is reachable (for readiness); stateless
    /// backends are always ready.
    fn ready(&self) -> ReadyFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}

/// Builds the authenticator the configuration names (its preset's
/// [`Build`](preset::Build)). Store backends connect lazily, so this needs a
/// Tokio runtime but not a reachable store.
pub fn from_settings(
    session: &SessionConfig,
    cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    (session.preset.build)(session, cache)
}

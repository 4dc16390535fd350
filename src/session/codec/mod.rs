//! Cookie codecs: how a cookie's value becomes a session id or a session
//! document. One file per format.
//!
//! A format whose cookie carries the session itself implements
//! [`ClaimsCodec`] and is served by [`CodecAuthenticator`]; its preset's
//! `build` is one line (see `cookie_session.rs`). A format whose cookie
//! carries a session id pairs a session-id codec with a store
//! (`session::store`) in a [`StoreAuthenticator`] (`stored.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use serde_json::Value;

use super::cache::{self, cache_key, CacheMetrics, LookupCache};
use super::check::{self, SessionCheck};
use super::mapping::SessionReader;
use super::{AuthFuture, ReadyFuture, SessionAuthenticator, SessionConfig, SessionError};
use crate::session::Reason;
use crate::token::unix_now;

pub mod authjs;
pub mod better_auth;
pub mod better_call;
pub mod chunks;
pub mod cookie_session;
pub mod django;
pub mod express_session;
pub mod express_signed;
pub mod flask;
pub mod iron_session;
pub mod jwe;
pub mod jwt;
mod mac;
pub mod next_auth;
pub mod rails;
pub mod session_id;
pub mod stored;
pub mod supabase;
mod zlib;

pub use express_signed::{CookieSigner, UnsignError};
pub use session_id::SessionIdCookie;
pub use stored::StoreAuthenticator;

/// A cookie format that carries the whole session, signed or sealed with
/// `SESSION_SECRET`.
pub trait ClaimsCodec: Send + Sync + 'static {
    /// The verified session document in the request's cookies, or
    /// `Unauthenticated` with a short reason (never the cookie) when the
    /// cookie is missing, malformed, tampered, under another secret or
    /// expired at `now_unix`.
    fn decode(&self, headers: &HeaderMap, now_unix: u64) -> Result<Value, SessionError>;
}

/// Authenticates with a [`ClaimsCodec`]: decode, then map the document to a
/// principal by `SESSION_SUBJECT_POINTER` / `SESSION_ATTRIBUTES`. Nothing
/// to look up, so no cache and always ready, unless a [`SessionCheck`]
/// reads the app's data too ([`CodecAuthenticator::checked`]).
pub struct CodecAuthenticator<C> {
    codec: C,
    reader: SessionReader,
    checked: Option<Checked>,
}

/// A codec's check against the app's data, bounded and cached.
struct Checked {
    check: Arc<dyn SessionCheck>,
    cache: Option<LookupCache>,
    timeout: Duration,
}

impl<C: ClaimsCodec> CodecAuthenticator<C> {
    /// The authenticator for `codec` with the session settings' mapping.
    pub fn new(codec: C, config: &SessionConfig) -> Self {
        Self {
            codec,
            reader: SessionReader::new(config),
            checked: None,
        }
    }

    /// As a preset's [`Build`](super::preset::Build) result.
    pub fn shared(codec: C, config: &SessionConfig) -> Arc<dyn SessionAuthenticator> {
        Arc::new(Self::new(codec, config))
    }

    /// The authenticator for `codec` whose documents must also pass
    /// `check`, within `SESSION_LOOKUP_TIMEOUT`; a passed document is
    /// reused for `SESSION_CACHE_TTL` when that is set.
    pub fn checked(
        codec: C,
        config: &SessionConfig,
        check: Arc<dyn SessionCheck>,
        cache_metrics: CacheMetrics,
    ) -> Self {
        Self {
            checked: Some(Checked {
                check,
                cache: LookupCache::from_config(config, cache_metrics),
                timeout: config.lookup_timeout,
            }),
            ..Self::new(codec, config)
        }
    }

    /// The verified document in a request's cookies and its principal.
    fn principal(&self, headers: &HeaderMap) -> Result<(Value, super::Principal), SessionError> {
        let doc = self.codec.decode(headers, unix_now())?;
        let principal = self
            .reader
            .principal(&doc)
            .map_err(|why| SessionError::Unauthenticated(Reason::NoSubject, why))?;
        Ok((doc, principal))
    }
}

impl<C: ClaimsCodec> SessionAuthenticator for CodecAuthenticator<C> {
    fn authenticate<'a>(&'a self, req: &'a HttpRequest) -> AuthFuture<'a> {
        let found = self.principal(req.headers());
        let (Some(checked), Ok((doc, principal))) = (&self.checked, found.as_ref()) else {
            return Box::pin(std::future::ready(found.map(|(_, principal)| principal)));
        };
        let (check, timeout) = (checked.check.clone(), checked.timeout);
        let principal = principal.clone();
        // The document decides what the check reads, so it is the key.
        let key = cache_key(&[doc.to_string().as_bytes()]);
        cache::through(
            checked.cache.as_ref(),
            cache::owner(req),
            doc.clone(),
            |_| key,
            move |doc| async move {
                check::bounded(check.as_ref(), &doc, Instant::now(), timeout).await?;
                Ok(principal)
            },
        )
    }

    fn ready(&self) -> ReadyFuture<'_> {
        let Some(checked) = &self.checked else {
            return Box::pin(async { Ok(()) });
        };
        let (ready, timeout) = (checked.check.ready(), checked.timeout);
        Box::pin(check::ready_within(ready, timeout))
    }

    /// Only without a check: one that asks the app's database (Django's
    /// users) must not run for every valid cookie before a bucket is
    /// spent, so the client's bucket goes first then.
    fn verifies_locally(&self) -> bool {
        self.checked.is_none()
    }
}

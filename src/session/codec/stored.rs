//! The authenticator that composes a session-id cookie codec, a store
//! (`session::store`) and a mapping: a session id looked up where the
//! app's framework keeps its sessions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use futures_util::future::BoxFuture;

use super::express_session::ExpressDocument;
use super::SessionIdCookie;
use crate::address::ClientAddr;
use crate::ratelimit::{RateLimits, SubjectCheck, SubjectHints};
use crate::redis_conn::RedisConnections;
use crate::session::cache::{self, cache_key, CacheMetrics, LookupCache};
use crate::session::check::{self, SessionCheck};
use crate::session::mapping::SessionReader;
use crate::session::store::{PgColumns, PostgresStore, RedisStore, SessionStore, StoredDocument};
use crate::session::Reason;
use crate::session::{AuthFuture, LimitedFuture, Principal, ReadyFuture, Refused};
use crate::session::{SessionAuthenticator, SessionConfig, SessionError, StoreSettings};
use crate::token::unix_now;

/// The store presets' [`Build`](crate::session::preset::Build): a session-id cookie
/// looked up in the store the settings name.
pub fn build(
    config: &SessionConfig,
    cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    let timeout = config.lookup_timeout;
    let store: Box<dyn SessionStore> = match &config.store {
        StoreSettings::Redis {
            url,
            prefix,
            ca_pem,
            topology,
        } => {
            let connections = RedisConnections::for_topology(
                "REDIS_URL",
                url.expose(),
                ca_pem.as_deref(),
                topology,
                timeout,
            )?;
            Box::new(RedisStore::new(connections, prefix))
        }
        StoreSettings::Postgres { .. } => Box::new(PostgresStore::from_settings(
            &config.store,
            PgColumns::CONNECT_PG_SIMPLE,
            timeout,
        )?),
        _ => return Err("SESSION_BACKEND: this backend has no session-id store".into()),
    };
    Ok(Arc::new(StoreAuthenticator::new(store, config, cache)))
}

struct Inner {
    store: Box<dyn SessionStore>,
    document: Box<dyn StoredDocument>,
    reader: SessionReader,
    /// What the opened document must still pass (Django's password hash).
    check: Option<Arc<dyn SessionCheck>>,
    timeout: Duration,
    /// The subjects last found per session id, for folded lookups.
    hints: SubjectHints,
}

impl Inner {
    async fn lookup(self: Arc<Self>, sid: String) -> Result<Principal, SessionError> {
        let started = Instant::now();
        let json =
            self.bounded(self.store.load(sid))
                .await?
                .ok_or(SessionError::Unauthenticated(
                    Reason::UnknownSession,
                    "no such session",
                ))?;
        self.principal(&json, started).await
    }

    /// `load` within the lookup timeout; a late or failed store is
    /// `Unavailable`.
    async fn bounded<T>(
        &self,
        load: BoxFuture<'static, Result<T, String>>,
    ) -> Result<T, SessionError> {
        let name = self.store.name();
        tokio::time::timeout(self.timeout, load)
            .await
            .map_err(|_| {
                SessionError::Unavailable(format!(
                    "{name} lookup timed out after {:?}",
                    self.timeout
                ))
            })?
            .map_err(SessionError::Unavailable)
    }

    /// The principal of the stored session, once its document passes the
    /// check (within the lookup timeout counted from `started`).
    async fn principal(&self, stored: &str, started: Instant) -> Result<Principal, SessionError> {
        let doc = self.document.open(stored, unix_now())?;
        let principal = self
            .reader
            .principal(&doc)
            .map_err(|why| SessionError::Unauthenticated(Reason::NoSubject, why))?;
        if let Some(check) = &self.check {
            check::bounded(check.as_ref(), &doc, started, self.timeout).await?;
        }
        Ok(principal)
    }
}

/// Authenticates by looking the cookie's session id up in a [`SessionStore`].
pub struct StoreAuthenticator {
    cookie: SessionIdCookie,
    inner: Arc<Inner>,
    cache: Option<LookupCache>,
}

impl StoreAuthenticator {
    /// An authenticator over `store` holding express-session documents,
    /// with the session settings.
    pub fn new(
        store: Box<dyn SessionStore>,
        config: &SessionConfig,
        cache_metrics: CacheMetrics,
    ) -> Self {
        let cookie = SessionIdCookie::new(config);
        Self::compose(
            cookie,
            store,
            Box::new(ExpressDocument),
            config,
            cache_metrics,
        )
    }

    /// An authenticator from its parts: the cookie that names the session,
    /// the store, and how a stored session is read.
    pub fn compose(
        cookie: SessionIdCookie,
        store: Box<dyn SessionStore>,
        document: Box<dyn StoredDocument>,
        config: &SessionConfig,
        cache_metrics: CacheMetrics,
    ) -> Self {
        Self {
            cookie,
            inner: Arc::new(Inner {
                store,
                document,
                reader: SessionReader::new(config),
                check: None,
                timeout: config.lookup_timeout,
                hints: SubjectHints::default(),
            }),
            cache: LookupCache::from_config(config, cache_metrics),
        }
    }

    /// With `check` run on every document the store yields, inside the
    /// lookup (so within `SESSION_LOOKUP_TIMEOUT`, and cached with it).
    pub fn with_check(mut self, check: Arc<dyn SessionCheck>) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("not shared before it is built")
            .check = Some(check);
        self
    }
}

impl StoreAuthenticator {
    /// The principal of session `sid`, through the cache when there is one.
    fn lookup<'a>(&'a self, req: &'a HttpRequest, sid: String) -> AuthFuture<'a> {
        let inner = self.inner.clone();
        cache::through(
            self.cache.as_ref(),
            cache::owner(req),
            sid,
            |sid| cache_key(&[sid.as_bytes()]),
            |sid| inner.lookup(sid),
        )
    }

    /// A lookup without folding: the remembered subject's bucket, else the
    /// client's, before it.
    async fn gated(
        &self,
        req: &HttpRequest,
        sid: String,
        limits: &RateLimits,
        client: Option<ClientAddr>,
    ) -> Result<(Principal, SubjectCheck), Refused> {
        let hint = limits
            .subjects_limited()
            .then(|| self.inner.hints.get(&sid))
            .flatten();
        let Some(hint) = hint else {
            limits.check_client(client).await?;
            let principal = self.lookup(req, sid.clone()).await?;
            if limits.subjects_limited() {
                self.inner.hints.remember_subject(&sid, &principal.sub);
            }
            return Ok((principal, SubjectCheck::Pending));
        };
        limits.check_subject(hint.sub()).await?;
        let found = self.lookup(req, sid.clone()).await;
        let found = self.forget_unless_live(&sid, found);
        if gone(&found) {
            limits.check_client(client).await?;
        }
        let principal = found?;
        if principal.sub != hint.sub() {
            self.inner.hints.remember_subject(&sid, &principal.sub);
            return Ok((principal, SubjectCheck::Pending));
        }
        let sub = principal.sub.clone();
        Ok((
            principal,
            SubjectCheck::Done {
                sub,
                result: Ok(()),
            },
        ))
    }

    /// `found`, forgetting `sid` when it names no one (any longer).
    fn forget_unless_live<T>(
        &self,
        sid: &str,
        found: Result<T, SessionError>,
    ) -> Result<T, SessionError> {
        if gone(&found) {
            self.inner.hints.forget(sid);
        }
        found
    }
}

/// Whether a lookup found no one (not: the store failed).
fn gone<T>(found: &Result<T, SessionError>) -> bool {
    matches!(found, Err(SessionError::Unauthenticated(..)))
}

impl SessionAuthenticator for StoreAuthenticator {
    fn authenticate<'a>(&'a self, req: &'a HttpRequest) -> AuthFuture<'a> {
        match self.cookie.session_id(req) {
            Ok(sid) => self.lookup(req, sid),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    /// The client's bucket pays for the lookup of a session id not seen
    /// live before (a flood of random ids stops there); a session id seen
    /// live is charged to its subject, not to the address it may share with
    /// anonymous callers. One that turns out to name no one any more spends
    /// the client's bucket too, and is forgotten.
    fn authenticate_limited<'a>(
        &'a self,
        req: &'a HttpRequest,
        limits: &'a RateLimits,
    ) -> LimitedFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let client = ClientAddr::of(req);
            let sid = match self.cookie.session_id(req) {
                Ok(sid) => sid,
                Err(e) => {
                    limits.check_client(client).await?;
                    return Err(e.into());
                }
            };
            // Cached sessions skip the store, so only uncached lookups fold.
            let folded = match &self.cache {
                None => (self.inner.store).load_folded(&sid, limits, client, &self.inner.hints),
                Some(_) => None,
            };
            let Some(folded) = folded else {
                return self.gated(req, sid, limits, client).await;
            };
            let found = self.inner.bounded(folded).await?;
            let principal = found.session.ok_or(SessionError::Unauthenticated(
                Reason::UnknownSession,
                "no such session",
            ));
            let principal = match principal {
                Ok(json) => self
                    .inner
                    .principal(&json, started)
                    .await
                    .map(|p| (p, json)),
                Err(e) => Err(e),
            };
            let principal = self.forget_unless_live(&sid, principal);
            match found.client {
                Some(result) => result?,
                None if gone(&principal) => limits.check_client(client).await?,
                None => {}
            }
            let (principal, json) = principal?;
            if found.hint_wanted && !found.subject.done_for(&principal.sub) {
                self.inner.hints.remember(&sid, &json, &principal.sub);
            }
            Ok((principal, found.subject))
        })
    }

    fn ready(&self) -> ReadyFuture<'_> {
        let name = self.inner.store.name();
        let timeout = self.inner.timeout;
        let ping = tokio::time::timeout(timeout, self.inner.store.ping());
        let check = self.inner.check.as_ref().map(|c| c.ready());
        Box::pin(async move {
            ping.await
                .map_err(|_| SessionError::Unavailable(format!("{name} ping timed out")))?
                .map_err(SessionError::Unavailable)?;
            match check {
                Some(ready) => check::ready_within(ready, timeout).await,
                None => Ok(()),
            }
        })
    }
}

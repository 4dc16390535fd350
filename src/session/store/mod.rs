//! Session stores: where a session id is looked up (one file per store),
//! and the authenticator that composes a session-id cookie codec, a store
//! and a mapping.

use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpRequest;
use futures_util::future::BoxFuture;
use serde_json::Value;

use super::cache::{self, cache_key, CacheMetrics, LookupCache};
use super::codec::SessionIdCookie;
use super::mapping::{ExpressDocument, SessionReader};
use super::{AuthFuture, Principal, ReadyFuture, SessionAuthenticator, SessionError};
use super::{SessionConfig, StoreSettings};
use crate::redis_conn::RedisConnections;
use crate::token::unix_now;

mod pg_tls;
mod postgres;
mod redis;

pub use pg_tls::SslMode;
pub use postgres::{PgColumns, PostgresStore};
pub use redis::RedisStore;

/// The store presets' [`Build`](super::preset::Build): a session-id cookie
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

/// How a stored session becomes a session document: express-session's
/// JSON ([`ExpressDocument`]), or a framework's signed encoding.
pub trait StoredDocument: Send + Sync + 'static {
    /// The document in `stored`; `Unauthenticated` when it is expired or
    /// its signature fails, `Unavailable` when the store holds garbage.
    fn open(&self, stored: &str, now_unix: u64) -> Result<Value, SessionError>;
}

/// Where session JSON is kept, by session id.
pub trait SessionStore: Send + Sync + 'static {
    /// The backend's name for messages.
    fn name(&self) -> &'static str;
    /// The session JSON for `sid`, `None` when there is no such (live) session.
    fn load(&self, sid: String) -> BoxFuture<'static, Result<Option<String>, String>>;
    /// Checks the store answers.
    fn ping(&self) -> BoxFuture<'static, Result<(), String>>;
}

struct Inner {
    store: Box<dyn SessionStore>,
    document: Box<dyn StoredDocument>,
    reader: SessionReader,
    timeout: Duration,
}

impl Inner {
    async fn lookup(self: Arc<Self>, sid: String) -> Result<Principal, SessionError> {
        let name = self.store.name();
        let json = tokio::time::timeout(self.timeout, self.store.load(sid))
            .await
            .map_err(|_| {
                SessionError::Unavailable(format!(
                    "{name} lookup timed out after {:?}",
                    self.timeout
                ))
            })?
            .map_err(SessionError::Unavailable)?
            .ok_or(SessionError::Unauthenticated("no such session"))?;
        let doc = self.document.open(&json, unix_now())?;
        self.reader
            .principal(&doc)
            .map_err(SessionError::Unauthenticated)
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
                timeout: config.lookup_timeout,
            }),
            cache: LookupCache::from_config(config, cache_metrics),
        }
    }
}

impl SessionAuthenticator for StoreAuthenticator {
    fn authenticate<'a>(&'a self, req: &'a HttpRequest) -> AuthFuture<'a> {
        let sid = match self.cookie.session_id(req) {
            Ok(sid) => sid,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let inner = self.inner.clone();
        cache::through(
            self.cache.as_ref(),
            cache::owner(req),
            sid,
            |sid| cache_key(&[sid.as_bytes()]),
            |sid| inner.lookup(sid),
        )
    }

    fn ready(&self) -> ReadyFuture<'_> {
        let name = self.inner.store.name();
        let ping = tokio::time::timeout(self.inner.timeout, self.inner.store.ping());
        Box::pin(async move {
            ping.await
                .map_err(|_| SessionError::Unavailable(format!("{name} ping timed out")))?
                .map_err(SessionError::Unavailable)
        })
    }
}

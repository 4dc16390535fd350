//! The `jwt-cookie` authenticator (`supabase`'s too, with its own token
//! reader): besides the JWS checks of `jws.rs` (which also refuse OAuth
//! access tokens), `azp` is checked against `SESSION_JWT_AUTHORIZED_PARTIES`.
//! A token's header is read once per request, before any fetch.
//!
//! And its JWKS URL: fetched with `SESSION_LOOKUP_TIMEOUT`, cached,
//! refetched on an unknown `kid` at most once per [`REFETCH_INTERVAL`], and
//! refetched by the first request after the answer's `Cache-Control:
//! max-age` (less its `Age`; [`DEFAULT_MAX_AGE`] without one) has passed,
//! bounded by `SESSION_JWKS_CACHE_MIN` / `_MAX` ([`CacheBounds`]): a key
//! removed from the JWKS stops verifying then. A failed refresh keeps the
//! old keys and is retried after [`REFETCH_INTERVAL`] at most. With no key
//! cached and the URL unreachable or answering garbage, requests get 503
//! and `/readyz` fails. Verified tokens are kept in a [`VerifiedTokens`]
//! cache when `SESSION_JWT_CACHE_SIZE` is not 0; each JWKS fetch starts a
//! new generation of it.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;

use serde_json::Value;

use super::cookie::{CacheBounds, JwtSettings, KeySource};
use super::jws::{KeyRing, Refusal, Verifier};
use super::jwt_cache::{token_key, VerifiedTokens};
use crate::metrics::CacheMetrics;
use crate::session::cookies::find_cookie;
use crate::session::mapping::SessionReader;
use crate::session::max_age;
use crate::session::Reason;
use crate::session::{
    AuthFuture, Principal, ReadyFuture, SessionAuthenticator, SessionConfig, SessionError,
};
use crate::token::unix_now;

/// Least time between two fetches caused by unknown `kid`s, and between
/// two failed refreshes of a JWKS whose time is up (when it is kept at
/// least this long).
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Least time between two fetch attempts while no key is cached.
const RETRY_EMPTY: Duration = Duration::from_secs(5);
/// How long a JWKS answer without `Cache-Control: max-age` is kept (within
/// the [`CacheBounds`]).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);
/// Largest JWKS document read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Takes the JWS out of a request's cookies (named by `SESSION_COOKIE`):
/// `Unauthenticated` when there is none or its wrapping is malformed.
pub type TokenReader = fn(&HeaderMap, &str) -> Result<String, SessionError>;

/// The JWS is the cookie's whole value (`jwt-cookie`).
fn whole_cookie(headers: &HeaderMap, name: &str) -> Result<String, SessionError> {
    find_cookie(headers, name).ok_or(SessionError::Unauthenticated(
        Reason::NoCookie,
        "no session cookie",
    ))
}

/// Authenticates a JWS in the session cookie.
pub struct JwtCookieAuthenticator {
    cookie: String,
    read_token: TokenReader,
    authorized_parties: Vec<String>,
    verifier: Verifier,
    keys: Keys,
    cache: Option<VerifiedTokens>,
    reader: SessionReader,
}

enum Keys {
    Fixed(KeyRing),
    Remote(Box<RemoteJwks>),
}

impl JwtCookieAuthenticator {
    /// From checked settings, the JWS being the whole cookie; `Err` when
    /// the HTTP client cannot be built. `metrics` count the hits of the
    /// verified-token cache.
    pub fn new(
        settings: JwtSettings,
        config: &SessionConfig,
        metrics: CacheMetrics,
    ) -> Result<Self, String> {
        Self::reading(settings, config, metrics, whole_cookie)
    }

    /// As [`new`](Self::new), the JWS taken from the cookies by `read_token`.
    pub fn reading(
        settings: JwtSettings,
        config: &SessionConfig,
        metrics: CacheMetrics,
        read_token: TokenReader,
    ) -> Result<Self, String> {
        let keys = match settings.keys {
            KeySource::Fixed(ring) => Keys::Fixed(ring),
            KeySource::Url(url, bounds) => Keys::Remote(Box::new(RemoteJwks::new(
                url,
                config.lookup_timeout,
                bounds,
            )?)),
        };
        Ok(Self {
            cookie: config.cookie_name.clone(),
            read_token,
            authorized_parties: settings.authorized_parties,
            verifier: settings.verifier,
            keys,
            cache: VerifiedTokens::new(settings.cache_size, metrics),
            reader: SessionReader::new(config),
        })
    }

    async fn principal(&self, token: String) -> Result<Principal, SessionError> {
        let claims = self.claims(&token).await?;
        drop(token);
        let azp = claims.get("azp").and_then(Value::as_str);
        if !self.authorized_parties.is_empty()
            && !azp.is_some_and(|azp| self.authorized_parties.iter().any(|p| p == azp))
        {
            return Err(SessionError::Unauthenticated(
                Reason::Malformed,
                "the session token's authorized party (azp) is not accepted",
            ));
        }
        self.reader
            .principal(&claims)
            .map_err(|why| SessionError::Unauthenticated(Reason::NoSubject, why))
    }

    /// The token's claims: from the cache, or verified (and then cached).
    /// The header is read at most once: before the keys are fetched for a
    /// JWKS URL, after a cache miss for fixed keys.
    async fn claims(&self, token: &str) -> Result<Arc<Value>, SessionError> {
        let remote_ring;
        let (ring, generation, mut parsed, fresh) = match &self.keys {
            Keys::Fixed(ring) => (ring, 0, None, false),
            Keys::Remote(remote) => {
                let parsed = self.verifier.parse(token)?;
                let (generation, fresh);
                (remote_ring, generation, fresh) = remote.current(false).await?;
                (&*remote_ring, generation, Some(parsed), fresh)
            }
        };
        let key = self.cache.as_ref().map(|_| token_key(token));
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            if let Some(hit) = cache.get(key, generation, unix_now()) {
                return Ok(hit?);
            }
        }
        let parsed = match parsed.take() {
            Some(parsed) => parsed,
            None => self.verifier.parse(token)?,
        };
        let checked = self.verifier.check(&parsed, ring, unix_now());
        let (verified, generation) = match (checked, &self.keys) {
            // Unless this request has just fetched the keys (their time was up).
            (Err(Refusal::UnknownKey), Keys::Remote(remote)) if !fresh => {
                let (ring, generation, _) = remote.current(true).await?;
                let verified = self.verifier.check(&parsed, &ring, unix_now())?;
                (verified, generation)
            }
            (verified, _) => (verified?, generation),
        };
        let claims = Arc::new(verified.claims);
        if let (Some(cache), Some(key)) = (&self.cache, key) {
            cache.insert(
                key,
                generation,
                claims.clone(),
                verified.lifetime,
                unix_now(),
            );
        }
        Ok(claims)
    }
}

impl SessionAuthenticator for JwtCookieAuthenticator {
    fn authenticate<'a>(&'a self, req: &'a HttpRequest) -> AuthFuture<'a> {
        let token = (self.read_token)(req.headers(), &self.cookie);
        Box::pin(async move { self.principal(token?).await })
    }

    /// Signatures are checked in memory; a JWKS URL is fetched at most once
    /// at a time and per interval, whatever the request rate.
    fn verifies_locally(&self) -> bool {
        true
    }

    fn ready(&self) -> ReadyFuture<'_> {
        Box::pin(async move {
            match &self.keys {
                Keys::Fixed(_) => Ok(()),
                Keys::Remote(remote) => remote.current(false).await.map(|_| ()),
            }
        })
    }
}

/// A good fetch of the JWKS URL.
struct Fetched {
    ring: Arc<KeyRing>,
    /// When it was fetched, and how long it is kept from then.
    at: Instant,
    keep_for: Duration,
}

/// What is known of the JWKS URL.
#[derive(Default)]
struct State {
    /// The last good fetch.
    ring: Option<Fetched>,
    /// How many good fetches there have been: the ring's generation.
    generation: u64,
    /// When the last fetch was tried, and why it failed if it did.
    attempt: Option<(Instant, Option<String>)>,
    /// When an unknown `kid` last caused a fetch.
    kid_refetch: Option<Instant>,
}

/// A JWKS URL and its cached keys.
pub struct RemoteJwks {
    client: reqwest::Client,
    url: reqwest::Url,
    bounds: CacheBounds,
    state: RwLock<State>,
    // One fetch at a time; others wait for its result.
    fetching: tokio::sync::Mutex<()>,
}

impl RemoteJwks {
    /// For `url`, each fetch bounded by `timeout`, each answer kept within
    /// `bounds`.
    pub fn new(url: reqwest::Url, timeout: Duration, bounds: CacheBounds) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(3))
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("realtime-token/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("SESSION_JWKS_URL: {e}"))?;
        Ok(Self {
            client,
            url,
            bounds,
            state: RwLock::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// Whether a fetch is due: nothing cached (retried every
    /// [`RETRY_EMPTY`]), `unknown_kid` (at most once per
    /// [`REFETCH_INTERVAL`]), or the keys' time is up (after a failed
    /// refresh, retried after [`REFETCH_INTERVAL`] or their time, whichever
    /// is shorter).
    fn due(state: &State, unknown_kid: bool) -> bool {
        let since_attempt = state.attempt.as_ref().map(|(at, _)| at.elapsed());
        match &state.ring {
            None => since_attempt.is_none_or(|d| d >= RETRY_EMPTY),
            Some(_) if unknown_kid => state
                .kid_refetch
                .is_none_or(|at| at.elapsed() >= REFETCH_INTERVAL),
            Some(fetched) => {
                let retry = REFETCH_INTERVAL.min(fetched.keep_for);
                fetched.at.elapsed() >= fetched.keep_for && since_attempt.is_none_or(|d| d >= retry)
            }
        }
    }

    /// The key ring to verify with, its generation (one more after each
    /// good fetch) and whether this call fetched it, fetching first when
    /// due; `Unavailable` when no key has ever been fetched.
    pub async fn current(
        &self,
        unknown_kid: bool,
    ) -> Result<(Arc<KeyRing>, u64, bool), SessionError> {
        let mut fetched_now = false;
        if Self::due(&self.read(), unknown_kid) {
            let _one = self.fetching.lock().await;
            // Another request may have fetched while this one waited.
            if Self::due(&self.read(), unknown_kid) {
                let fetched = self.fetch().await;
                let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                if unknown_kid && state.ring.is_some() {
                    state.kid_refetch = Some(now);
                }
                match fetched {
                    Ok((ring, max_age)) => {
                        fetched_now = true;
                        let keep_for = self.bounds.keep_for(max_age.unwrap_or(DEFAULT_MAX_AGE));
                        state.ring = Some(Fetched {
                            ring: Arc::new(ring),
                            at: now,
                            keep_for,
                        });
                        state.generation += 1;
                        state.attempt = Some((now, None));
                    }
                    Err(why) => {
                        log::warn!("SESSION_JWKS_URL: {why}");
                        state.attempt = Some((now, Some(why)));
                    }
                }
            }
        }
        let state = self.read();
        match (&state.ring, &state.attempt) {
            (Some(fetched), _) => Ok((fetched.ring.clone(), state.generation, fetched_now)),
            (None, Some((_, Some(why)))) => Err(SessionError::Unavailable(format!("JWKS: {why}"))),
            (None, _) => Err(SessionError::Unavailable("JWKS not fetched yet".into())),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// One GET of the JWKS, with how long the answer says it stays fresh;
    /// `Err` says why it is unusable.
    async fn fetch(&self) -> Result<(KeyRing, Option<Duration>), String> {
        let mut response = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        let max_age = max_age::freshness(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| e.without_url().to_string())?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err("the JWKS is too large".into());
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body).map_err(|_| "the JWKS is not UTF-8".to_owned())?;
        Ok((KeyRing::from_jwks(&text)?, max_age))
    }
}

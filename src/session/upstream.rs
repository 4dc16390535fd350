//! The `upstream` backend: asks the app's own "who am I" endpoint, with the
//! caller's `Cookie` header (and only the headers configured), never the
//! path, query, body or `Authorization`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::COOKIE;
use actix_web::HttpRequest;
use serde_json::Value;

use super::cache::{self, cache_key, CacheMetrics, LookupCache};
use super::cookies::find_cookie;
use super::mapping::SessionReader;
use super::{AuthFuture, Principal, ReadyFuture, SessionAuthenticator, SessionError};
use super::{SessionConfig, StoreSettings};
use crate::session::Reason;

/// Largest upstream answer read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

struct Inner {
    client: reqwest::Client,
    url: reqwest::Url,
    method: reqwest::Method,
    reader: SessionReader,
}

/// Forwarded header name/value pairs.
type Forwarded = Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>;

impl Inner {
    async fn lookup(self: Arc<Self>, headers: Forwarded) -> Result<Principal, SessionError> {
        let unavailable = SessionError::Unavailable;
        let mut request = self.client.request(self.method.clone(), self.url.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| unavailable(format!("upstream: {}", e.without_url())))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(SessionError::Unauthenticated(
                Reason::Malformed,
                "the upstream says the session is not logged in",
            ));
        }
        if status.is_redirection() {
            return Err(unavailable(format!(
                "upstream answered {status} (a redirect); point SESSION_UPSTREAM_URL at an endpoint that answers 401 when logged out"
            )));
        }
        if !status.is_success() {
            return Err(unavailable(format!("upstream answered {status}")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(format!("upstream: {}", e.without_url())))?
        {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(unavailable("upstream answer is too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        let doc: Value = serde_json::from_slice(&body)
            .map_err(|_| unavailable("upstream answered 2xx without JSON".into()))?;
        self.reader
            .principal(&doc)
            .map_err(|why| unavailable(format!("upstream answered 2xx but {why}")))
    }
}

/// A client for the app's own endpoints (`SESSION_UPSTREAM_URL`,
/// `ROOMS_URL`, named `var` in errors): no redirects followed (a login
/// page is not an answer), each request bounded by `timeout`.
pub fn app_client(var: &str, timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("realtime-token/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("{var}: {e}"))
}

/// Authenticates by asking `SESSION_UPSTREAM_URL`.
pub struct UpstreamAuthenticator {
    inner: Arc<Inner>,
    forward: Vec<reqwest::header::HeaderName>,
    /// `SESSION_UPSTREAM_COOKIES`: the cookies that identify a session.
    session_cookies: Vec<String>,
    cache: Option<LookupCache>,
}

/// The `upstream` preset's [`Build`](super::preset::Build).
pub fn build(
    config: &SessionConfig,
    cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    Ok(Arc::new(UpstreamAuthenticator::new(config, cache)?))
}

impl UpstreamAuthenticator {
    /// From the session settings; `Err` when the backend is not `upstream`
    /// or the URL does not parse.
    pub fn new(config: &SessionConfig, cache_metrics: CacheMetrics) -> Result<Self, String> {
        let StoreSettings::Upstream {
            url,
            method,
            forward_headers,
            session_cookies,
        } = &config.store
        else {
            return Err("not an upstream backend".into());
        };
        let url =
            reqwest::Url::parse(url.expose()).map_err(|e| format!("SESSION_UPSTREAM_URL: {e}"))?;
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| format!("SESSION_UPSTREAM_METHOD: {e}"))?;
        let forward = forward_headers
            .iter()
            .map(|h| reqwest::header::HeaderName::from_bytes(h.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("SESSION_UPSTREAM_HEADERS: {e}"))?;
        let client = app_client("SESSION_UPSTREAM_URL", config.lookup_timeout)?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                url,
                method,
                reader: SessionReader::new(config),
            }),
            forward,
            session_cookies: session_cookies.clone(),
            cache: LookupCache::from_config(config, cache_metrics),
        })
    }

    /// The `Cookie` header (all of them joined) and the configured headers.
    fn forwarded(&self, req: &HttpRequest) -> Forwarded {
        let mut out = Forwarded::new();
        let cookies: Vec<&[u8]> = req
            .headers()
            .get_all(COOKIE)
            .map(|v| v.as_bytes())
            .collect();
        if !cookies.is_empty() {
            if let Ok(value) = reqwest::header::HeaderValue::from_bytes(&cookies.join(&b"; "[..])) {
                out.push((reqwest::header::COOKIE, value));
            }
        }
        for name in &self.forward {
            let value = req
                .headers()
                .get(name.as_str())
                .and_then(|v| reqwest::header::HeaderValue::from_bytes(v.as_bytes()).ok());
            if let Some(value) = value {
                out.push((name.clone(), value));
            }
        }
        out
    }
}

impl SessionAuthenticator for UpstreamAuthenticator {
    fn authenticate<'a>(&'a self, req: &'a HttpRequest) -> AuthFuture<'a> {
        let headers = self.forwarded(req);
        if headers.is_empty() {
            return Box::pin(std::future::ready(Err(SessionError::Unauthenticated(
                Reason::NoCookie,
                "no session cookie",
            ))));
        }
        // Keyed on the session's own cookies when they are named, so other
        // cookies neither miss the cache nor fill it.
        let session_key = match self.session_cookies.as_slice() {
            [] => None,
            names => {
                let values: Vec<_> = names
                    .iter()
                    .map(|n| find_cookie(req.headers(), n))
                    .collect();
                if values.iter().all(Option::is_none) {
                    return Box::pin(std::future::ready(Err(SessionError::Unauthenticated(
                        Reason::NoCookie,
                        "no session cookie",
                    ))));
                }
                let parts: Vec<&[u8]> = names
                    .iter()
                    .zip(&values)
                    .flat_map(|(n, v)| [n.as_bytes(), v.as_deref().unwrap_or("").as_bytes()])
                    .collect();
                Some(cache_key(&parts))
            }
        };
        let inner = self.inner.clone();
        cache::through(
            self.cache.as_ref(),
            cache::owner(req),
            headers,
            |headers| {
                session_key.unwrap_or_else(|| {
                    let parts: Vec<&[u8]> = headers
                        .iter()
                        .flat_map(|(n, v)| [n.as_str().as_bytes(), v.as_bytes()])
                        .collect();
                    cache_key(&parts)
                })
            },
            |headers| inner.lookup(headers),
        )
    }

    fn ready(&self) -> ReadyFuture<'_> {
        Box::pin(async move {
            // Without a session the upstream must answer 401 (or 403): that
            // shows it is up and tells logged-out users apart. A 2xx would
            // make every lookup fail (no user) or log everyone in.
            let response = self
                .inner
                .client
                .request(self.inner.method.clone(), self.inner.url.clone())
                .send()
                .await
                .map_err(|e| SessionError::Unavailable(format!("upstream: {}", e.without_url())))?;
            match response.status() {
                reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::FORBIDDEN => Ok(()),
                status => Err(SessionError::Unavailable(format!(
                    "upstream answered {status} without a session cookie; SESSION_UPSTREAM_URL must answer 401 when logged out"
                ))),
            }
        })
    }
}

//! The origin guard (CSRF protection) and the CORS headers for credentialed
//! browser calls from `ALLOWED_ORIGINS`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest};

use crate::address::ForwardedHost;
use crate::error::ApiError;

/// The exact origins allowed to call with credentials.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    /// Sorted, for a binary search: cheaper per request than hashing the
    /// origin (twice a request: the guard and the CORS headers).
    allowed: Vec<String>,
}

impl Origins {
    /// An allow-list of exact origins.
    pub fn new(origins: &[String]) -> Self {
        let mut allowed = origins.to_vec();
        allowed.sort_unstable();
        allowed.dedup();
        Self { allowed }
    }

    fn allows(&self, origin: &str) -> bool {
        self.allowed
            .binary_search_by(|o| o.as_str().cmp(origin))
            .is_ok()
    }

    /// The request's `Origin` when it is on the list.
    pub fn allowed_origin<'r>(&self, req: &'r HttpRequest) -> Option<&'r HeaderValue> {
        let origin = req.headers().get(header::ORIGIN)?;
        self.allows(origin.to_str().ok()?).then_some(origin)
    }

    /// Refuses a browser request from another site unless its origin is
    /// allowed. `Sec-Fetch-Site` is trusted first, then `Origin` (exact
    /// match, or the request's own host: the one a trusted proxy forwarded,
    /// else `Host`). No `Origin` at all (curl) passes.
    pub fn check_request(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let headers = req.headers();
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        if matches!(site, Some("same-origin") | Some("none")) {
            return Ok(());
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            // A browser sends Origin on every cross-site POST; its absence
            // with a cross-site fetch marker is not a browser we trust.
            return match site {
                Some(_) => Err(ApiError::OriginNotAllowed),
                None => Ok(()),
            };
        };
        let origin = origin.to_str().map_err(|_| ApiError::OriginNotAllowed)?;
        if self.allows(origin) || is_own_host(origin, req) {
            return Ok(());
        }
        Err(ApiError::OriginNotAllowed)
    }
}

/// True when `origin` names the host the request was sent to (same-origin
/// call from a browser that does not send `Sec-Fetch-Site`). Behind a
/// trusted proxy that replaced `Host` (Next.js `rewrites()`), that is the
/// host it forwarded.
fn is_own_host(origin: &str, req: &HttpRequest) -> bool {
    match ForwardedHost::of(req) {
        Some(ForwardedHost(host)) => names_host(origin, &host),
        None => req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|host| names_host(origin, host)),
    }
}

/// True when `origin` (`scheme://host[:port]`) is `host` (`host[:port]`),
/// the scheme's default port written or not.
fn names_host(origin: &str, host: &str) -> bool {
    let (authority, default_port) = match origin.split_once("://") {
        Some(("https", authority)) => (authority, ":443"),
        Some(("http", authority)) => (authority, ":80"),
        _ => return false,
    };
    let bare = host.strip_suffix(default_port).unwrap_or(host);
    host.eq_ignore_ascii_case(authority) || bare.eq_ignore_ascii_case(authority)
}

/// Middleware: adds CORS headers for allowed origins to every response,
/// errors included, so a frontend can read a 401 and send the user to log in.
pub async fn cors(
    origins: web::Data<Origins>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let origin = origins.allowed_origin(req.request()).cloned();
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After"),
        );
    }
    Ok(res)
}

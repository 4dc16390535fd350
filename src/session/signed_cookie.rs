//! The stateless `signed-cookie` backend: the cookie holds the user id (or,
//! with `SESSION_COOKIE_VALUE=json`, cookie-parser's `j:<json>` with `sub`
//! and attributes), signed by the app.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::HttpRequest;
use serde_json::{Map, Value};

use super::codec::CookieSigner;
use super::cookies::find_cookie;
use super::SessionError;
use super::{AuthFuture, CookieValue, Principal, SessionAuthenticator, SessionConfig};
use crate::metrics::CacheMetrics;
use crate::secret::Secret;
use crate::session::Reason;

/// The `signed-cookie` preset's [`Build`](super::preset::Build).
pub fn build(
    config: &SessionConfig,
    _cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    Ok(Arc::new(SignedCookieAuthenticator::new(
        &config.cookie_name,
        &config.secrets,
        config.cookie_value,
    )))
}

/// Reads `s:<user id>.<sig>` or `s:j:{"sub":..}.<sig>` cookies.
#[derive(Debug)]
pub struct SignedCookieAuthenticator {
    cookie_name: String,
    signer: CookieSigner,
    value: CookieValue,
    warned: AtomicBool,
}

impl SignedCookieAuthenticator {
    /// An authenticator for the cookie `cookie_name`, signed with any of
    /// `secrets` (newest first), holding `value`.
    pub fn new(cookie_name: &str, secrets: &[Secret], value: CookieValue) -> Self {
        Self {
            cookie_name: cookie_name.to_owned(),
            signer: CookieSigner::new(secrets.iter().map(Secret::expose)),
            value,
            warned: AtomicBool::new(false),
        }
    }

    /// The principal a cookie value (percent-decoded) stands for.
    pub fn principal_from_cookie(&self, cookie: &str) -> Result<Principal, SessionError> {
        let value = self
            .signer
            .unsign(cookie)
            .map_err(|e| SessionError::Unauthenticated(Reason::BadSignature, e.reason()))?;
        match (self.value, value.strip_prefix("j:")) {
            (CookieValue::Json, Some(json)) => principal_from_json(json),
            (CookieValue::Json, None) => Err(SessionError::Unauthenticated(
                Reason::Malformed,
                "session cookie is not a j: JSON cookie (SESSION_COOKIE_VALUE=json)",
            )),
            (CookieValue::Id, Some(_)) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    log::warn!(
                        "a signed session cookie holds a j: JSON value, refused (401): \
                         set SESSION_COOKIE_VALUE=json if your app writes objects with res.cookie(); \
                         this is logged once"
                    );
                }
                Err(SessionError::Unauthenticated(
                    Reason::Malformed,
                    "session cookie holds JSON, but SESSION_COOKIE_VALUE=id",
                ))
            }
            (CookieValue::Id, None) => Principal::new(value, Map::new())
                .map_err(|why| SessionError::Unauthenticated(Reason::NoSubject, why)),
        }
    }
}

fn principal_from_json(json: &str) -> Result<Principal, SessionError> {
    let bad = SessionError::Unauthenticated;
    let Ok(Value::Object(mut attributes)) = serde_json::from_str::<Value>(json) else {
        return Err(bad(
            Reason::Malformed,
            "session cookie JSON is not an object",
        ));
    };
    let sub = match attributes.remove("sub") {
        Some(Value::String(sub)) => sub,
        Some(_) => {
            return Err(bad(
                Reason::NoSubject,
                "session cookie `sub` is not a string",
            ))
        }
        None => return Err(bad(Reason::NoSubject, "session cookie has no `sub`")),
    };
    Principal::new(sub, attributes).map_err(|why| bad(Reason::NoSubject, why))
}

impl SessionAuthenticator for SignedCookieAuthenticator {
    fn authenticate<'a>(&'a self, req: &'a HttpRequest) -> AuthFuture<'a> {
        let result = match find_cookie(req.headers(), &self.cookie_name) {
            None => Err(SessionError::Unauthenticated(
                Reason::NoCookie,
                "no session cookie",
            )),
            Some(cookie) => self.principal_from_cookie(&cookie),
        };
        Box::pin(std::future::ready(result))
    }

    fn verifies_locally(&self) -> bool {
        true
    }
}

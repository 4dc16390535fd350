//! The stateless `signed-cookie` backend: the cookie holds the user id (or
//! cookie-parser's `j:<json>` with `sub` and attributes), signed by the app.

use actix_web::HttpRequest;
use serde_json::{Map, Value};

use super::cookies::{find_cookie, CookieSigner};
use super::{AuthFuture, Principal, SessionAuthenticator, SessionError};
use crate::config::Secret;

/// Reads `s:<user id>.<sig>` or `s:j:{"sub":..}.<sig>` cookies.
#[derive(Debug)]
pub struct SignedCookieAuthenticator {
    cookie_name: String,
    signer: CookieSigner,
}

impl SignedCookieAuthenticator {
    /// An authenticator for the cookie `cookie_name`, signed with any of
    /// `secrets` (newest first).
    pub fn new(cookie_name: &str, secrets: &[Secret]) -> Self {
        Self {
            cookie_name: cookie_name.to_owned(),
            signer: CookieSigner::new(secrets.iter().map(Secret::expose)),
        }
    }

    /// The principal a cookie value (percent-decoded) stands for.
    pub fn principal_from_cookie(&self, cookie: &str) -> Result<Principal, SessionError> {
        let value = self
            .signer
            .unsign(cookie)
            .map_err(|e| SessionError::Unauthenticated(e.reason()))?;
        match value.strip_prefix("j:") {
            Some(json) => principal_from_json(json),
            None => Principal::new(value, Map::new()).map_err(SessionError::Unauthenticated),
        }
    }
}

fn principal_from_json(json: &str) -> Result<Principal, SessionError> {
    let bad = SessionError::Unauthenticated;
    let Ok(Value::Object(mut attributes)) = serde_json::from_str::<Value>(json) else {
        return Err(bad("session cookie JSON is not an object"));
    };
    let sub = match attributes.remove("sub") {
        Some(Value::String(sub)) => sub,
        Some(_) => return Err(bad("session cookie `sub` is not a string")),
        None => return Err(bad("session cookie has no `sub`")),
    };
    Principal::new(sub, attributes).map_err(bad)
}

impl SessionAuthenticator for SignedCookieAuthenticator {
    fn authenticate<'a>(&'a self, req: &'a HttpRequest) -> AuthFuture<'a> {
        let result = match find_cookie(req.headers(), &self.cookie_name) {
            None => Err(SessionError::Unauthenticated("no session cookie")),
            Some(cookie) => self.principal_from_cookie(&cookie),
        };
        Box::pin(std::future::ready(result))
    }
}

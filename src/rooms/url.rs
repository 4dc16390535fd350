//! `ROOMS_URL`: the app's own endpoint, asked as the `upstream` backend asks
//! (the user's session cookies, no redirects, a timeout) with
//! `{"sub": ..., "rooms": [...] | null}`; it answers `{"rooms": [...]}`,
//! or 401/403 for no grants.

use std::time::Duration;

use actix_web::http::header::{HeaderMap, COOKIE};
use futures_util::future::{BoxFuture, FutureExt as _};
use serde::Deserialize;

use super::{Ask, CookieForward, RoomSource, SourceCheck, UrlSettings, MAX_SOURCE_VALUES};
use crate::session::upstream::app_client;

/// Largest answer read.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// Grants from the app's endpoint.
pub struct UrlSource {
    client: reqwest::Client,
    url: reqwest::Url,
    cookies: CookieForward,
}

#[derive(Deserialize)]
struct Answer {
    rooms: Vec<String>,
}

impl UrlSource {
    /// The endpoint `settings` name, asked within `timeout`.
    pub fn new(settings: &UrlSettings, timeout: Duration) -> Result<Self, String> {
        let url =
            reqwest::Url::parse(settings.url.expose()).map_err(|e| format!("ROOMS_URL: {e}"))?;
        Ok(Self {
            client: app_client("ROOMS_URL", timeout)?,
            url,
            cookies: settings.cookies.clone(),
        })
    }

    /// A POST of `body` (JSON) to the endpoint.
    fn post(&self, body: serde_json::Value) -> reqwest::RequestBuilder {
        self.client
            .post(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
    }

    /// The caller's session cookies, as the browser sent them (name=value,
    /// undecoded), joined into one `Cookie` header.
    fn session_cookies(&self, headers: &HeaderMap) -> Option<String> {
        let pairs: Vec<&str> = headers
            .get_all(COOKIE)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(str::trim)
            .filter(|pair| {
                let name = pair.split('=').next().unwrap_or("").trim();
                match &self.cookies {
                    CookieForward::All => !pair.is_empty(),
                    CookieForward::Named(names) => names.iter().any(|n| is_cookie_of(n, name)),
                }
            })
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }
}

/// Whether a cookie called `name` carries the session cookie `session`:
/// the name itself, a chunk of it (`<name>.0`), or its `__Secure-` /
/// `__Host-` form.
fn is_cookie_of(session: &str, name: &str) -> bool {
    let name = name
        .strip_prefix("__Secure-")
        .or_else(|| name.strip_prefix("__Host-"))
        .filter(|_| !session.starts_with("__"))
        .unwrap_or(name);
    match name.strip_prefix(session) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('.')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

impl RoomSource for UrlSource {
    fn var(&self) -> &'static str {
        "ROOMS_URL"
    }

    fn lookup(&self, ask: Ask<'_>) -> BoxFuture<'static, Result<Vec<String>, String>> {
        let mut request = self.post(serde_json::json!({
            "sub": ask.principal.sub,
            "rooms": ask.requested,
        }));
        // Admin and CLI minting carry no user's session: the app answers
        // for nobody (401), so only the env policy grants.
        if let Some(cookies) = ask.headers.and_then(|h| self.session_cookies(h)) {
            request = request.header(reqwest::header::COOKIE, cookies);
        }
        async move {
            let failed = |e: reqwest::Error| format!("ROOMS_URL: {}", e.without_url());
            let mut response = request.send().await.map_err(failed)?;
            let status = response.status();
            if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN
            {
                return Ok(Vec::new());
            }
            if status.is_redirection() {
                return Err(format!(
                    "ROOMS_URL answered {status} (a redirect); point it at an endpoint that answers JSON, or 401 when logged out"
                ));
            }
            if !status.is_success() {
                return Err(format!("ROOMS_URL answered {status}"));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(failed)? {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err("ROOMS_URL: the answer is too large".into());
                }
                body.extend_from_slice(&chunk);
            }
            let answer: Answer = serde_json::from_slice(&body).map_err(|_| {
                "ROOMS_URL answered 2xx without {\"rooms\": [strings]}".to_owned()
            })?;
            if answer.rooms.len() > MAX_SOURCE_VALUES {
                return Err(format!(
                    "ROOMS_URL answered more than {MAX_SOURCE_VALUES} rooms"
                ));
            }
            Ok(answer.rooms)
        }
        .boxed()
    }

    /// Without a session the endpoint must answer 401 or 403: that shows it
    /// is up and decides from the session, not from the `sub` it is sent.
    fn check(&self) -> BoxFuture<'static, Result<(), SourceCheck>> {
        let request = self.post(serde_json::json!({"sub": null, "rooms": null}));
        async move {
            let response = request.send().await.map_err(|e| {
                SourceCheck::Unreachable(format!("ROOMS_URL: {}", e.without_url()))
            })?;
            match response.status() {
                reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::FORBIDDEN => Ok(()),
                status => Err(SourceCheck::Unreachable(format!(
                    "ROOMS_URL answered {status} without a session; it must answer 401 when the caller is not logged in"
                ))),
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::is_cookie_of;

    #[test]
    fn session_cookies_chunks_and_secure_forms_are_recognized() {
        for name in [
            "authjs.session-token",
            "authjs.session-token.0",
            "__Secure-authjs.session-token.12",
            "__Host-authjs.session-token",
        ] {
            assert!(is_cookie_of("authjs.session-token", name), "{name}");
        }
        for name in [
            "authjs.session-tokenx",
            "authjs.session-token.",
            "authjs.session-token.a",
            "other",
            "__Secure-other",
        ] {
            assert!(!is_cookie_of("authjs.session-token", name), "{name}");
        }
        assert!(is_cookie_of("__session", "__session"));
    }
}

//! Session-id cookies: express-session's signed `s:<sid>.<sig>`, or a
//! bare id.

use actix_web::HttpRequest;

use super::express_signed::CookieSigner;
use crate::session::cookies::find_cookie;
use crate::session::{SessionConfig, SessionError};

/// Longest session id accepted.
const MAX_SID_LEN: usize = 256;

/// Reads the session id from the session cookie (express-session's
/// `s:<sid>.<sig>` when signed, the bare id otherwise).
#[derive(Debug)]
pub struct SessionIdCookie {
    name: String,
    signer: Option<CookieSigner>,
}

impl SessionIdCookie {
    /// From the session settings.
    pub fn new(config: &SessionConfig) -> Self {
        Self {
            name: config.cookie_name.clone(),
            signer: config
                .cookie_signed
                .then(|| CookieSigner::new(config.secrets.iter().map(|s| s.expose()))),
        }
    }

    /// A bare session id in the cookie `name` (e.g. Django's `sessionid`).
    pub fn plain(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            signer: None,
        }
    }

    /// The session id, after the signature check.
    pub fn session_id(&self, req: &HttpRequest) -> Result<String, SessionError> {
        let cookie = find_cookie(req.headers(), &self.name)
            .ok_or(SessionError::Unauthenticated("no session cookie"))?;
        let sid = match &self.signer {
            Some(signer) => signer
                .unsign(&cookie)
                .map_err(|e| SessionError::Unauthenticated(e.reason()))?,
            None => &cookie,
        };
        if sid.is_empty() || sid.len() > MAX_SID_LEN || sid.chars().any(char::is_control) {
            return Err(SessionError::Unauthenticated("session id is malformed"));
        }
        Ok(sid.to_owned())
    }
}

//! Session-id cookies: express-session's signed `s:<sid>.<sig>`,
//! better-call's `<token>.<sig>` (better-auth), or a bare id.

use actix_web::HttpRequest;

use super::better_call::BetterCallSigner;
use super::express_signed::CookieSigner;
use crate::session::cookies::find_cookie;
use crate::session::Reason;
use crate::session::{SessionConfig, SessionError};

/// Longest session id accepted.
const MAX_SID_LEN: usize = 256;

/// How the session id is signed inside the cookie.
#[derive(Debug)]
enum Signature {
    /// A bare id.
    None,
    /// express-session's `s:<sid>.<sig>`.
    Express(CookieSigner),
    /// better-call's signed cookie, `<token>.<sig>`.
    BetterCall(BetterCallSigner),
}

/// Reads the session id from the session cookie: express-session's
/// `s:<sid>.<sig>` when signed, better-call's `<token>.<sig>` for
/// better-auth, the bare id otherwise.
#[derive(Debug)]
pub struct SessionIdCookie {
    // Tried in order; the first present cookie is the only one read.
    names: Vec<String>,
    signature: Signature,
}

impl SessionIdCookie {
    /// From the session settings.
    pub fn new(config: &SessionConfig) -> Self {
        let signature = if config.cookie_signed {
            Signature::Express(CookieSigner::new(config.secrets.iter().map(|s| s.expose())))
        } else {
            Signature::None
        };
        Self {
            names: vec![config.cookie_name.clone()],
            signature,
        }
    }

    /// A bare session id in the cookie `name` (e.g. Django's `sessionid`).
    pub fn plain(name: &str) -> Self {
        Self {
            names: vec![name.to_owned()],
            signature: Signature::None,
        }
    }

    /// A better-call signed token in the first of `names` present, checked
    /// with `signer` whatever `SESSION_COOKIE_SIGNED` says.
    pub fn better_call(names: Vec<String>, signer: BetterCallSigner) -> Self {
        Self {
            names,
            signature: Signature::BetterCall(signer),
        }
    }

    /// The session id, after the signature check.
    pub fn session_id(&self, req: &HttpRequest) -> Result<String, SessionError> {
        let cookie = self
            .names
            .iter()
            .find_map(|name| find_cookie(req.headers(), name))
            .ok_or(SessionError::Unauthenticated(
                Reason::NoCookie,
                "no session cookie",
            ))?;
        let sid = match &self.signature {
            Signature::Express(signer) => signer
                .unsign(&cookie)
                .map_err(|e| SessionError::Unauthenticated(Reason::BadSignature, e.reason()))?,
            Signature::BetterCall(signer) => signer
                .unsign(&cookie)
                .map_err(|why| SessionError::Unauthenticated(Reason::BadSignature, why))?,
            Signature::None => &cookie,
        };
        if sid.is_empty() || sid.len() > MAX_SID_LEN || sid.chars().any(char::is_control) {
            return Err(SessionError::Unauthenticated(
                Reason::Malformed,
                "session id is malformed",
            ));
        }
        Ok(sid.to_owned())
    }
}

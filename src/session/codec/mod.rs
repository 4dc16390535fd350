//! Cookie codecs: how a cookie's value becomes a session id or a session
//! document. One file per format.
//!
//! A format whose cookie carries the session itself implements
//! [`ClaimsCodec`] and is served by [`CodecAuthenticator`]; its preset's
//! `build` is one line (see `cookie_session.rs`). A format whose cookie
//! carries a session id pairs a session-id codec with a store
//! (`session::store`).

use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use serde_json::Value;

use super::mapping::SessionReader;
use super::{AuthFuture, SessionAuthenticator, SessionConfig, SessionError};
use crate::token::unix_now;

pub mod authjs;
pub mod better_auth;
pub mod cookie_session;
pub mod django;
pub mod express_signed;
pub mod flask;
pub mod iron_session;
mod jwk;
pub mod jws;
mod jws_claims;
mod jws_crypto;
pub mod jwt_cookie;
pub mod next_auth;
pub mod rails;
mod roca;
pub mod session_id;
pub mod supabase;

pub use express_signed::{CookieSigner, UnsignError};
pub use session_id::SessionIdCookie;

/// A cookie format that carries the whole session, signed or sealed with
/// `SESSION_SECRET`.
pub trait ClaimsCodec: Send + Sync + 'static {
    /// The verified session document in the request's cookies, or
    /// `Unauthenticated` with a short reason (never the cookie) when the
    /// cookie is missing, malformed, tampered, under another secret or
    /// expired at `now_unix`.
    fn decode(&self, headers: &HeaderMap, now_unix: u64) -> Result<Value, SessionError>;
}

/// Authenticates with a [`ClaimsCodec`]: decode, then map the document to a
/// principal by `SESSION_SUBJECT_POINTER` / `SESSION_ATTRIBUTES`. Nothing
/// to look up, so no cache and always ready.
pub struct CodecAuthenticator<C> {
    codec: C,
    reader: SessionReader,
}

impl<C: ClaimsCodec> CodecAuthenticator<C> {
    /// The authenticator for `codec` with the session settings' mapping.
    pub fn new(codec: C, config: &SessionConfig) -> Self {
        Self {
            codec,
            reader: SessionReader::new(config),
        }
    }

    /// As a preset's [`Build`](super::preset::Build) result.
    pub fn shared(codec: C, config: &SessionConfig) -> Arc<dyn SessionAuthenticator> {
        Arc::new(Self::new(codec, config))
    }

    /// The principal a request's cookies stand for.
    fn principal(&self, headers: &HeaderMap) -> Result<super::Principal, SessionError> {
        let doc = self.codec.decode(headers, unix_now())?;
        self.reader
            .principal(&doc)
            .map_err(SessionError::Unauthenticated)
    }
}

impl<C: ClaimsCodec> SessionAuthenticator for CodecAuthenticator<C> {
    fn authenticate<'a>(&'a self, req: &'a HttpRequest) -> AuthFuture<'a> {
        Box::pin(std::future::ready(self.principal(req.headers())))
    }
}

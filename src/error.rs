//! [`ApiError`]: every failure the HTTP API can answer, with its status and
//! stable JSON error code.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::policy::PolicyError;
use crate::ratelimit::RateLimited;
use crate::rooms::RoomsError;
use crate::session::{Reason, Refused, SessionError};
use crate::token::SignError;

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_UNAVAILABLE: &str = "2";

/// An error answered as `{"error": "<code>", "message": "<sentence>"}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request: bad JSON, bad room syntax.
    #[error("{0}")]
    InvalidRequest(String),
    /// No, bad, expired or revoked session (or admin key): the reason's
    /// code goes to the access log, the detail and the likely fix to the
    /// debug log, neither to the client.
    #[error("unauthenticated ({detail})", detail = .1)]
    Unauthenticated(Reason, &'static str),
    /// Bearer-key minting was attempted while `ADMIN_API_KEY` is unset.
    #[error("admin minting is disabled")]
    AdminDisabled,
    /// A cross-site request from an origin not in `ALLOWED_ORIGINS`.
    #[error("origin not allowed")]
    OriginNotAllowed,
    /// The policy grants no room, or not a requested one.
    #[error("{0}")]
    RoomNotAllowed(String),
    /// No such route.
    #[error("not found")]
    NotFound,
    /// `/.well-known/jwks.json` under HS256: there is no public key.
    #[error("no JWKS under HS256")]
    NoJwks,
    /// A method the path does not serve; holds the `Allow` value.
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    /// The body is over the limit (bytes).
    #[error("payload over {0} bytes")]
    PayloadTooLarge(usize),
    /// A non-empty body that is not `application/json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The client did not send its body in time.
    #[error("request body timed out")]
    RequestTimeout,
    /// Over a rate limit; the client may retry after this many seconds.
    #[error("rate limited for {0} s")]
    RateLimited(u64),
    /// The session store or upstream failed: fail closed.
    #[error("session backend unavailable: {0}")]
    SessionBackendUnavailable(String),
    /// The room source failed, timed out or answered garbage: fail closed.
    #[error("room source unavailable: {0}")]
    RoomsUnavailable(String),
    /// This process is draining after SIGTERM (`/readyz` only).
    #[error("shutting down")]
    ShuttingDown,
    /// Anything else; the cause is logged, the answer is opaque.
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::Unauthenticated(..) | Self::AdminDisabled => "unauthenticated",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::RoomNotAllowed(_) => "room_not_allowed",
            Self::NotFound | Self::NoJwks => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RequestTimeout => "request_timeout",
            Self::RateLimited(_) => "rate_limited",
            Self::SessionBackendUnavailable(_) => "session_backend_unavailable",
            Self::RoomsUnavailable(_) => "rooms_unavailable",
            Self::ShuttingDown => "shutting_down",
            Self::Internal(_) => "internal_error",
        }
    }

    /// Why a 401 was answered (for the access log), when it was one.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Self::Unauthenticated(reason, _) => Some(*reason),
            _ => None,
        }
    }

    /// The human sentence sent to the client: never a cause, secret or token.
    fn message(&self) -> String {
        match self {
            Self::InvalidRequest(m) | Self::RoomNotAllowed(m) => m.clone(),
            Self::Unauthenticated(..) => "no valid session; log in and try again".into(),
            Self::AdminDisabled => {
                "bearer-key minting is disabled on this server (ADMIN_API_KEY is unset)".into()
            }
            Self::OriginNotAllowed => {
                "this origin may not request tokens; add it to ALLOWED_ORIGINS".into()
            }
            Self::NotFound => "no such endpoint; tokens are at POST /api/realtime-token".into(),
            Self::NoJwks => {
                "no JWKS: tokens are signed with HS256, whose secret is never published".into()
            }
            Self::MethodNotAllowed(allow) => format!("this endpoint answers {allow}"),
            Self::PayloadTooLarge(limit) => format!("the request body is over {limit} bytes"),
            Self::UnsupportedMediaType => "send the body as application/json".into(),
            Self::RequestTimeout => "the request body did not arrive in time".into(),
            Self::RateLimited(secs) => format!("too many token requests; retry in {secs} s"),
            Self::SessionBackendUnavailable(_) => {
                "the session store is unavailable; try again shortly".into()
            }
            Self::RoomsUnavailable(_) => {
                "the rooms this user may open cannot be looked up right now; try again shortly".into()
            }
            Self::ShuttingDown => {
                "this instance is shutting down and still serves tokens; new traffic belongs elsewhere".into()
            }
            Self::Internal(_) => "internal error".into(),
        }
    }
}

impl From<RateLimited> for ApiError {
    fn from(RateLimited(seconds): RateLimited) -> Self {
        Self::RateLimited(seconds)
    }
}

impl From<Refused> for ApiError {
    fn from(e: Refused) -> Self {
        match e {
            Refused::Limited(limited) => limited.into(),
            Refused::Session(session) => session.into(),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Unauthenticated(reason, why) => Self::Unauthenticated(reason, why),
            SessionError::Unavailable(cause) => Self::SessionBackendUnavailable(cause),
        }
    }
}

impl From<PolicyError> for ApiError {
    fn from(e: PolicyError) -> Self {
        match e {
            PolicyError::InvalidRooms(m) => Self::InvalidRequest(m),
            PolicyError::NoRooms | PolicyError::RoomNotAllowed(_) => {
                Self::RoomNotAllowed(e.to_string())
            }
        }
    }
}

impl From<RoomsError> for ApiError {
    fn from(e: RoomsError) -> Self {
        match e {
            RoomsError::Policy(policy) => policy.into(),
            RoomsError::TooMany(_) => Self::RoomNotAllowed(e.to_string()),
            RoomsError::Unavailable(cause) => Self::RoomsUnavailable(cause),
        }
    }
}

impl From<SignError> for ApiError {
    fn from(e: SignError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(..) | Self::AdminDisabled => StatusCode::UNAUTHORIZED,
            Self::OriginNotAllowed | Self::RoomNotAllowed(_) => StatusCode::FORBIDDEN,
            Self::NotFound | Self::NoJwks => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::SessionBackendUnavailable(_) | Self::RoomsUnavailable(_) | Self::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => log::error!("internal error: {cause}"),
            Self::SessionBackendUnavailable(cause) => {
                log::warn!("session backend unavailable: {cause}")
            }
            Self::RoomsUnavailable(cause) => log::warn!("room source unavailable: {cause}"),
            Self::Unauthenticated(reason, why) => log::debug!(
                "unauthenticated ({}): {why}; {}",
                reason.code(),
                reason.hint()
            ),
            _ => {}
        }
        let message = self.message();
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        match self {
            Self::MethodNotAllowed(allow) => {
                res.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
            }
            Self::SessionBackendUnavailable(_) | Self::RoomsUnavailable(_) => {
                res.insert_header((
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_UNAVAILABLE),
                ));
            }
            Self::RateLimited(secs) => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from((*secs).max(1))));
            }
            _ => {}
        }
        res.json(ErrorBody {
            error: self.code(),
            message: &message,
        })
    }
}

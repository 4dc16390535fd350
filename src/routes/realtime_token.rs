//! `POST /api/realtime-token`: session (or admin key) in, signed token out.

use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{self, BytesMut};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse};
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::address::ClientAddr;
use crate::admin::bearer_key;
use crate::error::ApiError;
use crate::http::access_log::LoggedSubject;
use crate::http::origin::Origins;
use crate::metrics::LookupOutcome;
use crate::principal::Principal;
use crate::ratelimit::SubjectCheck;
use crate::rooms::Caller;
use crate::session::preset::session_cookie_seen;
use crate::session::{cache, Reason, Refused, SessionError};
use crate::state::AppState;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 4096;
/// Time allowed for the whole body to arrive once the headers are in.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(5);

/// The optional JSON body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// A subset of the granted rooms (least privilege).
    pub rooms: Option<Vec<String>>,
    /// The subject to mint for (admin key only).
    pub sub: Option<String>,
    /// Attributes for the policy (admin key only).
    pub attributes: Option<Map<String, Value>>,
}

/// The handler: guard, read, authenticate, authorize, issue.
pub async fn issue_token(
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Borrowed from the app rather than extracted: an extractor clones the
    // `Arc`, whose count every worker would write on every request.
    let (Some(state), Some(origins)) = (
        req.app_data::<web::Data<AppState>>(),
        req.app_data::<web::Data<Origins>>(),
    ) else {
        return Err(ApiError::Internal(
            "the app has no AppState or Origins data (see app::routes)".into(),
        ));
    };
    origins.check_request(&req)?;
    let body = read_body(&req, payload).await?;
    let (principal, subject_check) = authenticate(&req, state, &body).await?;
    req.extensions_mut()
        .insert(LoggedSubject(principal.sub.clone()));
    subject_check.finish(&state.limits, &principal.sub).await?;
    let rooms = state
        .rooms
        .authorize(&principal, body.rooms.as_deref(), caller(&req))
        .await?;
    let issued = state.issuer.issue(&principal.sub, rooms)?;
    state.metrics.token_issued();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(issued))
}

/// The admin key's subject and attributes, or the session's principal,
/// after the client's rate limit; and what is left of the subject's.
async fn authenticate(
    req: &HttpRequest,
    state: &AppState,
    body: &TokenRequest,
) -> Result<(Principal, SubjectCheck), ApiError> {
    let Some(key) = bearer_key(req) else {
        if body.sub.is_some() || body.attributes.is_some() {
            return Err(ApiError::InvalidRequest(
                "`sub` and `attributes` may only be sent with the admin key".into(),
            ));
        }
        let started = Instant::now();
        let result = state
            .authenticator
            .authenticate_limited(req, &state.limits)
            .await;
        let outcome = match &result {
            Ok(_) => Some(LookupOutcome::Ok),
            Err(Refused::Session(SessionError::Unauthenticated(..))) => {
                Some(LookupOutcome::Unauthenticated)
            }
            Err(Refused::Session(SessionError::Unavailable(_))) => Some(LookupOutcome::Unavailable),
            Err(Refused::Limited(_)) => None,
        };
        if let Some(outcome) = outcome {
            state.metrics.session_lookup(outcome, started.elapsed());
        }
        return result.map_err(|e| with_cookie_hint(req, e));
    };
    state.limits.check_client(ClientAddr::of(req)).await?;
    let admin = state.admin_key.as_ref().ok_or(ApiError::AdminDisabled)?;
    if !admin.matches(key) {
        return Err(ApiError::Unauthenticated(
            Reason::BadAdminKey,
            "wrong admin key",
        ));
    }
    let sub = body
        .sub
        .clone()
        .ok_or_else(|| ApiError::InvalidRequest("admin minting needs `sub` in the body".into()))?;
    let principal = Principal::new(sub, body.attributes.clone().unwrap_or_default())
        .map_err(|why| ApiError::InvalidRequest(format!("`sub` is not valid: {why}")))?;
    Ok((principal, SubjectCheck::Pending))
}

/// A refusal for want of the configured cookie becomes `wrong_cookie_name`
/// when the request carries another format's session cookie, named (from
/// the presets' table, never the request's text) in the debug log.
fn with_cookie_hint(req: &HttpRequest, refused: Refused) -> ApiError {
    if let Refused::Session(SessionError::Unauthenticated(Reason::NoCookie, _)) = refused {
        if let Some((cookie, backend)) = session_cookie_seen(req.headers()) {
            log::debug!(
                "no session cookie of the configured name, but `{cookie}`, which \
                 SESSION_BACKEND={backend} reads: check SESSION_BACKEND and SESSION_COOKIE"
            );
            return ApiError::Unauthenticated(Reason::WrongCookieName, "another format's cookie");
        }
    }
    refused.into()
}

/// Who asks, for the room source: the request's headers (a source that
/// asks the app sends the user's cookies; none with the admin key, whose
/// caller is not the user) and the client address (the room cache's
/// per-client bound).
fn caller(req: &HttpRequest) -> Caller<'_> {
    Caller {
        headers: bearer_key(req).is_none().then(|| req.headers()),
        owner: cache::owner(req),
    }
}

/// Reads the optional JSON body: bounded in size and time, JSON only.
async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<TokenRequest, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    if declared == Some(0) {
        return Ok(TokenRequest::default());
    }
    let read = async {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::InvalidRequest(format!("could not read the body: {e}")))?;
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    let body = actix_web::rt::time::timeout(BODY_TIMEOUT, read)
        .await
        .map_err(|_| ApiError::RequestTimeout)??;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(TokenRequest::default());
    }
    if !is_json(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    serde_json::from_slice(&body).map_err(|e| {
        let detail: String = e.to_string().chars().take(200).collect();
        ApiError::InvalidRequest(format!(
            "the body must be JSON like {{\"rooms\": [\"document-42\"]}}: {detail}"
        ))
    })
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

#[cfg(test)]
mod tests {
    use actix_web::FromRequest as _;

    use super::*;

    /// actix boxes the handler's future on every request, and glibc's
    /// malloc takes its slower path from 1 KiB: a future of a branch most
    /// requests never take (the shared rate limits' Redis call was 3 KiB)
    /// belongs in its own box.
    #[actix_web::test]
    async fn the_handlers_future_stays_under_1_kib() {
        let (req, mut payload) = actix_web::test::TestRequest::default().to_http_parts();
        let payload = web::Payload::from_request(&req, &mut payload)
            .await
            .unwrap();
        let size = std::mem::size_of_val(&issue_token(req, payload));
        assert!(size < 1024, "issue_token's future is {size} bytes");
    }
}

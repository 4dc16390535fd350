//! `GET /.well-known/jwks.json`: the public keys that verify ES256 and
//! EdDSA tokens; 404 under HS256, whose secret is never published.

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::state::AppState;

/// How long verifiers and caches may keep the document: a key published
/// for the next rotation must wait this long before it signs.
pub const JWKS_MAX_AGE_SECS: u64 = 300;

/// The JWKS document, built once at start-up.
pub async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let body = state.jwks.clone().ok_or(ApiError::NoJwks)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            CACHE_CONTROL,
            format!("public, max-age={JWKS_MAX_AGE_SECS}"),
        ))
        .body(body))
}

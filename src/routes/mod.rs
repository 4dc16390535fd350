//! One module per endpoint.

pub mod health;
pub mod jwks;
pub mod metrics;
pub mod openapi;
pub mod preflight;
pub mod realtime_token;

use actix_web::HttpResponse;

use crate::error::ApiError;

/// Default service: JSON 404 for unknown paths.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// Default for the token endpoint's other methods.
pub async fn post_only() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed("POST, OPTIONS"))
}

/// Default for the read-only endpoints' other methods.
pub async fn get_only() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed("GET, HEAD"))
}

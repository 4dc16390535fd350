//! One module per endpoint.

pub mod health;
pub mod metrics;
pub mod realtime_token;

use actix_web::HttpResponse;

use crate::error::ApiError;

/// Default service: JSON 404 for unknown paths.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// Default for a known path with a method it does not serve.
pub async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

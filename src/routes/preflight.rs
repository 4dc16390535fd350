//! `OPTIONS /api/realtime-token`: the CORS preflight.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;
use crate::http::origin::Origins;

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// `OPTIONS /api/realtime-token`: answers a CORS preflight from an allowed
/// origin (the middleware adds the origin headers); others get 403.
pub async fn preflight(
    req: HttpRequest,
    origins: web::Data<Origins>,
) -> Result<HttpResponse, ApiError> {
    if origins.allowed_origin(&req).is_none() {
        return Err(ApiError::OriginNotAllowed);
    }
    Ok(HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "POST"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "Content-Type"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE))
        .finish())
}

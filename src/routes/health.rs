//! `GET /healthz` (liveness) and `GET /readyz` (the session backend and the
//! room source answer).

use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::state::AppState;

/// Always 200 while the server runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

/// 200 when the session backend and the room source can serve lookups,
/// 503 `session_backend_unavailable` or `rooms_unavailable` otherwise
/// (each checked at most once a second), and 503 `shutting_down` while the
/// process drains after SIGTERM.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.drain.is_draining() {
        return Err(ApiError::ShuttingDown);
    }
    state.readiness.check(state.authenticator.as_ref()).await?;
    state.rooms.ready().await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ready"}"#))
}

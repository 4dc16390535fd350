//! `GET /healthz` (liveness) and `GET /readyz` (the session backend answers).

use std::time::Duration;

use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::state::AppState;

/// Bound on a readiness check, whatever the backend's own timeouts.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Always 200 while the server runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

/// 200 when the session backend answers, 503 `session_backend_unavailable` otherwise.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    tokio::time::timeout(READY_TIMEOUT, state.authenticator.ready())
        .await
        .map_err(|_| ApiError::SessionBackendUnavailable("readiness check timed out".into()))??;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ready"}"#))
}

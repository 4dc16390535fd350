//! `GET /healthz`: liveness (the process answers HTTP).

use actix_web::HttpResponse;

/// Always 200 while the server runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

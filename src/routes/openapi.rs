//! `GET /openapi.yaml`: the OpenAPI document describing this API.

use actix_web::HttpResponse;

/// The OpenAPI 3 document (`openapi.yaml` at the repository root), compiled in.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// Serves [`OPENAPI_YAML`] as `application/yaml`.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}

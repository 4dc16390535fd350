//! The panic middleware: a panicking handler is answered like any other
//! error instead of dropping the connection.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::ResponseError as _;
use futures_util::FutureExt as _;

use crate::error::ApiError;

/// Middleware: a panic in a handler or authenticator becomes a JSON 500
/// instead of a dropped connection. Wraps a resource: the request is
/// already routed, so keeping a handle on it for the answer is safe.
pub async fn catch_panic(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let http_req = req.request().clone();
    match std::panic::AssertUnwindSafe(next.call(req))
        .catch_unwind()
        .await
    {
        Ok(res) => res.map(ServiceResponse::map_into_left_body),
        Err(_) => {
            let res = ApiError::Internal("a request handler panicked".into()).error_response();
            Ok(ServiceResponse::new(http_req, res).map_into_right_body())
        }
    }
}

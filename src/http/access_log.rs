//! The access log middleware: one line and one metrics observation per
//! request, never a cookie, token, secret or `Authorization` header.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage as _};
use rand::RngCore as _;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::ratelimit::ClientAddr;
use crate::telemetry::fields::{json_string, TextValue};
use crate::telemetry::{LogFormat, ACCESS_TARGET};

/// Displays the value, or `-` when there is none (no allocation).
struct OrDash<T>(Option<T>);

impl<T: std::fmt::Display> std::fmt::Display for OrDash<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => f.write_str("-"),
        }
    }
}

/// What the access log needs: where to count requests, how to write lines.
#[derive(Debug, Clone)]
pub struct AccessLog {
    /// Request durations and rejections by code.
    pub metrics: Metrics,
    /// `LOG_FORMAT`.
    pub format: LogFormat,
}

/// The authenticated subject, left in the request's extensions by the
/// token handler for the access log.
#[derive(Debug, Clone)]
pub struct LoggedSubject(pub String);

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The caller's `X-Request-Id` when it is short and plain, else a new one.
fn request_id(req: &ServiceRequest) -> HeaderValue {
    let incoming = req.headers().get(&REQUEST_ID).filter(|v| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= 64
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    });
    match incoming {
        Some(v) => v.clone(),
        None => {
            let id = format!("{:016x}", rand::thread_rng().next_u64());
            HeaderValue::from_str(&id).expect("hex is a valid header value")
        }
    }
}

/// Middleware: one access-log line and one metrics observation per
/// request; echoes `X-Request-Id`. Logs the route (never the path's query),
/// the status, the duration, the client address and the subject when known:
/// never a cookie, token, secret or `Authorization` header.
pub async fn access_log(
    log: web::Data<AccessLog>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let rid = request_id(&req);
    let method = req.method().clone();
    let logging = log::log_enabled!(target: ACCESS_TARGET, log::Level::Info);
    let ip = ClientAddr::of(req.request()).map(|c| c.0);
    let result = next.call(req).await;
    let took = started.elapsed();
    let (route, status, error, sub) = match &result {
        Ok(res) => (
            res.request().match_name(),
            res.status(),
            res.response()
                .error()
                .and_then(|e| e.as_error::<ApiError>()),
            res.request()
                .extensions()
                .get::<LoggedSubject>()
                .map(|s| s.0.clone()),
        ),
        Err(e) => (
            None,
            e.as_response_error().status_code(),
            e.as_error::<ApiError>(),
            None,
        ),
    };
    let code = error.map(ApiError::code);
    let reason = error.and_then(ApiError::reason).map(|r| r.code());
    let route = route.unwrap_or("(unmatched)");
    log.metrics.http_request(route, status, took);
    if let Some(code) = code {
        log.metrics.rejected(code);
    }
    if let Some(reason) = reason {
        log.metrics.unauthenticated(reason);
    }
    if logging {
        // Only `sub` is free text (any string without control characters).
        // The rest cannot add a field or a line by construction: the method
        // is an HTTP token (httparse and `http::Method` refuse spaces, `=`
        // and quotes), the route is one of our resource names or
        // "(unmatched)", the status and duration are numbers, the address
        // is an `IpAddr`, the error code is a fixed `ApiError::code`, and
        // the reason a fixed `Reason::code`, and the request id is
        // `[A-Za-z0-9._-]{1,64}` or ours (`request_id`).
        let ip = OrDash(ip);
        let rid = rid.to_str().unwrap_or("-");
        let us = took.as_micros();
        let code = code.unwrap_or("-");
        let reason = reason.unwrap_or("-");
        if log.format == LogFormat::Json {
            log::info!(
                target: ACCESS_TARGET,
                "{{\"method\":{},\"route\":{},\"status\":{},\"duration_us\":{us},\"ip\":\"{ip}\",\"sub\":{},\"error\":{},\"reason\":{},\"request_id\":{}}}",
                json_string(method.as_str()),
                json_string(route),
                status.as_u16(),
                json_string(sub.as_deref().unwrap_or("-")),
                json_string(code),
                json_string(reason),
                json_string(rid)
            );
        } else {
            let sub = OrDash(sub.as_deref().map(TextValue));
            log::info!(
                target: ACCESS_TARGET,
                "{method} {route} {} {us}us ip={ip} sub={sub} error={code} reason={reason} rid={rid}",
                status.as_u16()
            );
        }
    }
    result.map(|mut res| {
        res.headers_mut().insert(REQUEST_ID.clone(), rid);
        res
    })
}

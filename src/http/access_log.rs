//! The access log middleware: one line and one metrics observation per
//! request, never a cookie, token, secret or `Authorization` header.

use std::cell::RefCell;
use std::net::IpAddr;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage as _};
use rand::RngCore as _;

use crate::address::ClientAddr;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::telemetry::fields::{push_decimal, push_ip, push_json_string, push_text_value};
use crate::telemetry::{log_access, LogFormat, ACCESS_TARGET};

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
            // 16 lowercase hex digits, as `format!("{:016x}")` writes them.
            let mut n = rand::thread_rng().next_u64();
            let mut id = [0u8; 16];
            for digit in id.iter_mut().rev() {
                *digit = b"0123456789abcdef"[(n & 15) as usize];
                n >>= 4;
            }
            HeaderValue::from_bytes(&id).expect("hex is a valid header value")
        }
    }
}

/// One request as its access record shows it.
struct Record<'a> {
    method: &'a str,
    route: &'a str,
    status: u16,
    duration_us: u64,
    ip: Option<IpAddr>,
    sub: Option<&'a str>,
    code: &'a str,
    reason: &'a str,
    request_id: &'a str,
}

impl Record<'_> {
    /// Appends the record's message in `format`. Only `sub` is free text
    /// (any string without control characters). The rest cannot add a
    /// field or a line by construction: the method is an HTTP token
    /// (httparse and `http::Method` refuse spaces, `=` and quotes), the
    /// route is one of our resource names or "(unmatched)", the status and
    /// duration are numbers, the address is an `IpAddr`, the error code is
    /// a fixed `ApiError::code`, the reason a fixed `Reason::code`, and the
    /// request id is `[A-Za-z0-9._-]{1,64}` or ours (`request_id`).
    fn write(&self, format: LogFormat, out: &mut Vec<u8>) {
        out.reserve(192 + self.sub.map_or(0, str::len));
        match format {
            LogFormat::Json => {
                out.extend_from_slice(b"{\"method\":");
                push_json_string(out, self.method);
                out.extend_from_slice(b",\"route\":");
                push_json_string(out, self.route);
                out.extend_from_slice(b",\"status\":");
                push_decimal(out, u64::from(self.status));
                out.extend_from_slice(b",\"duration_us\":");
                push_decimal(out, self.duration_us);
                out.extend_from_slice(b",\"ip\":\"");
                self.push_ip(out);
                out.extend_from_slice(b"\",\"sub\":");
                push_json_string(out, self.sub.unwrap_or("-"));
                out.extend_from_slice(b",\"error\":");
                push_json_string(out, self.code);
                out.extend_from_slice(b",\"reason\":");
                push_json_string(out, self.reason);
                out.extend_from_slice(b",\"request_id\":");
                push_json_string(out, self.request_id);
                out.push(b'}');
            }
            LogFormat::Text => {
                out.extend_from_slice(self.method.as_bytes());
                out.push(b' ');
                out.extend_from_slice(self.route.as_bytes());
                out.push(b' ');
                push_decimal(out, u64::from(self.status));
                out.push(b' ');
                push_decimal(out, self.duration_us);
                out.extend_from_slice(b"us ip=");
                self.push_ip(out);
                out.extend_from_slice(b" sub=");
                match self.sub {
                    Some(sub) => push_text_value(out, sub),
                    None => out.push(b'-'),
                }
                out.extend_from_slice(b" error=");
                out.extend_from_slice(self.code.as_bytes());
                out.extend_from_slice(b" reason=");
                out.extend_from_slice(self.reason.as_bytes());
                out.extend_from_slice(b" rid=");
                out.extend_from_slice(self.request_id.as_bytes());
            }
        }
    }

    fn push_ip(&self, out: &mut Vec<u8>) {
        match self.ip {
            Some(ip) => push_ip(out, ip),
            None => out.push(b'-'),
        }
    }
}

thread_local! {
    // The access record being written on this thread (reused, so no request
    // allocates one).
    static MESSAGE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
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
                .extensions_mut()
                .remove::<LoggedSubject>()
                .map(|s| s.0),
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
        let record = Record {
            method: method.as_str(),
            route,
            status: status.as_u16(),
            duration_us: u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            ip,
            sub: sub.as_deref(),
            code: code.unwrap_or("-"),
            reason: reason.unwrap_or("-"),
            request_id: rid.to_str().unwrap_or("-"),
        };
        MESSAGE.with(|message| {
            let mut message = message.borrow_mut();
            message.clear();
            record.write(log.format, &mut message);
            log_access(&message);
        });
    }
    result.map(|mut res| {
        res.headers_mut().insert(REQUEST_ID.clone(), rid);
        res
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::fields::{json_string, TextValue};

    /// The record as the middleware wrote it with `format!` before it wrote
    /// into a reused buffer: the two must agree byte for byte.
    fn formatted(r: &Record<'_>, format: LogFormat) -> String {
        let ip = r.ip.map_or("-".to_owned(), |ip| ip.to_string());
        match format {
            LogFormat::Json => format!(
                "{{\"method\":{},\"route\":{},\"status\":{},\"duration_us\":{},\"ip\":\"{ip}\",\"sub\":{},\"error\":{},\"reason\":{},\"request_id\":{}}}",
                json_string(r.method),
                json_string(r.route),
                r.status,
                r.duration_us,
                json_string(r.sub.unwrap_or("-")),
                json_string(r.code),
                json_string(r.reason),
                json_string(r.request_id)
            ),
            LogFormat::Text => format!(
                "{} {} {} {}us ip={ip} sub={} error={} reason={} rid={}",
                r.method,
                r.route,
                r.status,
                r.duration_us,
                r.sub.map_or("-".to_owned(), |s| TextValue(s).to_string()),
                r.code,
                r.reason,
                r.request_id
            ),
        }
    }

    #[test]
    fn records_are_written_as_format_wrote_them() {
        let subs = [
            None,
            Some("alice"),
            Some("-"),
            Some("bob ip=6.6.6.6 sub=admin"),
            Some("mallory\" sub=\"admin"),
            Some("eve\u{2028}x\u{85}"),
            Some("jos\u{e9}"),
        ];
        let ips = [None, Some("10.0.0.1"), Some("2001:db8::1")];
        for sub in subs {
            for ip in ips {
                let record = Record {
                    method: "POST",
                    route: "/api/realtime-token",
                    status: 429,
                    duration_us: 1234,
                    ip: ip.map(|ip| ip.parse().unwrap()),
                    sub,
                    code: "rate_limited",
                    reason: "-",
                    request_id: "0123456789abcdef",
                };
                for format in [LogFormat::Text, LogFormat::Json] {
                    let mut out = Vec::new();
                    record.write(format, &mut out);
                    assert_eq!(
                        String::from_utf8(out).unwrap(),
                        formatted(&record, format),
                        "{format:?} {sub:?} {ip:?}"
                    );
                }
            }
        }
    }
}

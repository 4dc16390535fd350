//! The requests that produce every documented answer, and what came back.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::HttpRequest;
use realtime_token::session::{AuthFuture, SessionAuthenticator};
use realtime_token::Application;
use serde_json::{json, Value};

use super::METHODS;
use crate::support::*;

// ------------------------------------------------------------ observations

/// What came back: status, headers (lowercase names) and body.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: BTreeMap<String, String>,
    pub(super) body: Vec<u8>,
}

impl Answer {
    async fn from_reqwest(res: reqwest::Response) -> Self {
        let status = res.status().as_u16();
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in res.headers() {
            let value = value.to_str().unwrap_or("<not visible ASCII>").to_owned();
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|v| *v = format!("{v}, {value}"))
                .or_insert(value);
        }
        let body = res.bytes().await.unwrap().to_vec();
        Self {
            status,
            headers,
            body,
        }
    }

    /// Parses a raw HTTP/1.1 answer (as read to the end of the connection).
    fn from_raw(raw: &[u8]) -> Self {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
        let head = std::str::from_utf8(&raw[..split]).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap();
        let headers = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        Self {
            status: status.parse().unwrap(),
            headers,
            body: raw[split + 4..].to_vec(),
        }
    }
}

pub(super) type Pending = Pin<Box<dyn Future<Output = Answer> + Send>>;

/// One request of the table.
pub(super) struct Case {
    /// What it does, for failure messages.
    pub(super) what: String,
    pub(super) path: String,
    /// Lowercase, as in the document.
    pub(super) method: &'static str,
    /// The status the request is built to produce.
    pub(super) expect: u16,
    pub(super) answer: Pending,
}

pub(super) fn case(
    what: &str,
    path: &str,
    method: &'static str,
    expect: u16,
    answer: Pending,
) -> Case {
    Case {
        what: what.to_owned(),
        path: path.to_owned(),
        method,
        expect,
        answer,
    }
}

pub(super) fn send(req: reqwest::RequestBuilder) -> Pending {
    Box::pin(async move { Answer::from_reqwest(req.send().await.unwrap()).await })
}

/// Sends `bytes` on a fresh connection and reads until the server closes it.
pub(super) fn send_raw(base: &str, bytes: String) -> Pending {
    let addr = base.trim_start_matches("http://").to_owned();
    Box::pin(async move {
        let raw = raw_exchange(&addr, bytes.as_bytes()).await;
        Answer::from_raw(raw.as_bytes())
    })
}

pub(super) fn method(m: &str) -> reqwest::Method {
    reqwest::Method::from_bytes(m.to_ascii_uppercase().as_bytes()).unwrap()
}

/// An authenticator that panics: the only way a black-box request reaches
/// the 500 path (the server's own code has no known panic to trigger).
pub(super) struct Panicking;

impl SessionAuthenticator for Panicking {
    fn authenticate<'a>(&'a self, _req: &'a HttpRequest) -> AuthFuture<'a> {
        Box::pin(async { panic!("deliberate panic for the 500 test") })
    }
}

/// Starts the app with the [`Panicking`] authenticator; its base URL.
pub(super) async fn spawn_panicking_app() -> String {
    let config = config_with(&[]).unwrap();
    let app = Application::build_with_authenticator(&config, Arc::new(Panicking)).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

/// A URL on which nothing listens.
pub(super) fn closed_url() -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    format!("http://127.0.0.1:{port}/api/me")
}

/// The table: at least one request for every documented (path, method,
/// status), and for every error code a documented status allows.
pub(super) async fn table(spec: &Value) -> Vec<Case> {
    const TOKEN: &str = "/api/realtime-token";
    let app = spawn_app_with(&[("ADMIN_API_KEY", ADMIN_KEY)]).await;
    let limited = spawn_app_with(&[("RATE_LIMIT_IP", "1/h")]).await;
    let upstream_down = closed_url();
    let unavailable = spawn_app_with(&[
        ("SESSION_BACKEND", "upstream"),
        ("SESSION_UPSTREAM_URL", &upstream_down),
    ])
    .await;
    let no_metrics = spawn_app_with(&[("METRICS", "off")]).await;
    let jwks_path = "/.well-known/jwks.json";
    let key = key_file(realtime_token::token::SigningAlgorithm::EdDSA);
    let eddsa = spawn_app_with(&pairs(&signing_env(
        realtime_token::token::SigningAlgorithm::EdDSA,
        &key,
    )))
    .await;
    let pg_down = closed_url().replace("http://", "postgres://postgres@");
    let rooms_down = spawn_app_with(&[
        ("ROOMS_QUERY", "select 'document-' || $1"),
        ("ROOMS_DATABASE_URL", &pg_down),
    ])
    .await;
    let panicking = spawn_panicking_app().await;

    let c = &app.client;
    let url = app.url(TOKEN);
    let alice = app.cookie("alice");
    let post = || c.post(&url).header("Cookie", &alice);
    let mut cases = vec![
        case("a session", TOKEN, "post", 200, send(post())),
        case(
            "a session asking for a subset, from an allowed origin",
            TOKEN,
            "post",
            200,
            send(
                post()
                    .header("Origin", ALLOWED_ORIGIN)
                    .header("Sec-Fetch-Site", "same-site")
                    .json(&json!({"rooms": ["document-42"]})),
            ),
        ),
        case(
            "the admin key",
            TOKEN,
            "post",
            200,
            send(
                c.post(&url)
                    .bearer_auth(ADMIN_KEY)
                    .json(&json!({"sub": "job-7", "rooms": ["document-1"], "attributes": {"org": "acme"}})),
            ),
        ),
        case(
            "malformed JSON",
            TOKEN,
            "post",
            400,
            send(post().header("Content-Type", "application/json").body("{")),
        ),
        case(
            "`sub` without the admin key",
            TOKEN,
            "post",
            400,
            send(post().json(&json!({"sub": "mallory"}))),
        ),
        case("no cookie", TOKEN, "post", 401, send(c.post(&url))),
        case(
            "a wrong admin key",
            TOKEN,
            "post",
            401,
            send(c.post(&url).bearer_auth("wrong").json(&json!({"sub": "x"}))),
        ),
        case(
            "a cross-site origin",
            TOKEN,
            "post",
            403,
            send(post().header("Origin", "https://evil.example")),
        ),
        case(
            "a room outside the policy",
            TOKEN,
            "post",
            403,
            send(post().json(&json!({"rooms": ["secret-1"]}))),
        ),
        case(
            "a body that never arrives",
            TOKEN,
            "post",
            408,
            send_raw(
                &app.base,
                format!(
                    "POST {TOKEN} HTTP/1.1\r\nHost: x\r\nCookie: {alice}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"rooms\":"
                ),
            ),
        ),
        case(
            "a body over 4 KiB",
            TOKEN,
            "post",
            413,
            send(
                post()
                    .header("Content-Type", "application/json")
                    .body(format!(r#"{{"rooms":["{}"]}}"#, "a".repeat(5000))),
            ),
        ),
        case(
            "a text/plain body",
            TOKEN,
            "post",
            415,
            send(post().header("Content-Type", "text/plain").body("rooms")),
        ),
        case("the second anonymous request within RATE_LIMIT_IP=1/h", TOKEN, "post", 429, {
            let (client, url) = (limited.client.clone(), limited.url(TOKEN));
            Box::pin(async move {
                let first = client.post(&url).send().await;
                assert_eq!(first.unwrap().status(), 401);
                let second = client.post(&url).send().await;
                Answer::from_reqwest(second.unwrap()).await
            })
        }),
        case(
            "an authenticator that panics",
            TOKEN,
            "post",
            500,
            send(c.post(format!("{panicking}{TOKEN}"))),
        ),
        case(
            "an unreachable upstream",
            TOKEN,
            "post",
            503,
            send(
                unavailable
                    .client
                    .post(unavailable.url(TOKEN))
                    .header("Cookie", "app_session=abc"),
            ),
        ),
        case(
            "an unreachable room source",
            TOKEN,
            "post",
            503,
            send(
                rooms_down
                    .client
                    .post(rooms_down.url(TOKEN))
                    .header("Cookie", rooms_down.cookie("alice")),
            ),
        ),
        case(
            "a preflight from an allowed origin",
            TOKEN,
            "options",
            204,
            send(
                c.request(reqwest::Method::OPTIONS, &url)
                    .header("Origin", ALLOWED_ORIGIN)
                    .header("Access-Control-Request-Method", "POST"),
            ),
        ),
        case(
            "a preflight from another origin",
            TOKEN,
            "options",
            403,
            send(
                c.request(reqwest::Method::OPTIONS, &url)
                    .header("Origin", "https://evil.example"),
            ),
        ),
        case("liveness", "/healthz", "get", 200, send(c.get(app.url("/healthz")))),
        case("readiness", "/readyz", "get", 200, send(c.get(app.url("/readyz")))),
        case(
            "readiness with the upstream down",
            "/readyz",
            "get",
            503,
            send(unavailable.client.get(unavailable.url("/readyz"))),
        ),
        case(
            "readiness with the room source down",
            "/readyz",
            "get",
            503,
            send(rooms_down.client.get(rooms_down.url("/readyz"))),
        ),
        case("metrics", "/metrics", "get", 200, send(c.get(app.url("/metrics")))),
        case(
            "metrics with METRICS=off",
            "/metrics",
            "get",
            404,
            send(no_metrics.client.get(no_metrics.url("/metrics"))),
        ),
        case(
            "the document",
            "/openapi.yaml",
            "get",
            200,
            send(c.get(app.url("/openapi.yaml"))),
        ),
        case(
            "the JWKS under EdDSA",
            jwks_path,
            "get",
            200,
            send(eddsa.client.get(eddsa.url(jwks_path))),
        ),
        case("the JWKS under HS256", jwks_path, "get", 404, send(c.get(app.url(jwks_path)))),
        case(
            "the JWKS under EdDSA, HEAD",
            jwks_path,
            "head",
            200,
            send(eddsa.client.head(eddsa.url(jwks_path))),
        ),
        case(
            "the JWKS under HS256, HEAD",
            jwks_path,
            "head",
            404,
            send(c.head(app.url(jwks_path))),
        ),
        case("liveness, HEAD", "/healthz", "head", 200, send(c.head(app.url("/healthz")))),
        case("readiness, HEAD", "/readyz", "head", 200, send(c.head(app.url("/readyz")))),
        case(
            "readiness with the upstream down, HEAD",
            "/readyz",
            "head",
            503,
            send(unavailable.client.head(unavailable.url("/readyz"))),
        ),
        case("metrics, HEAD", "/metrics", "head", 200, send(c.head(app.url("/metrics")))),
        case(
            "metrics with METRICS=off, HEAD",
            "/metrics",
            "head",
            404,
            send(no_metrics.client.head(no_metrics.url("/metrics"))),
        ),
        case(
            "the document, HEAD",
            "/openapi.yaml",
            "head",
            200,
            send(c.head(app.url("/openapi.yaml"))),
        ),
    ];
    // Every method a documented path does not list: 405.
    for (path, item) in spec["paths"].as_object().unwrap() {
        for m in METHODS.into_iter().filter(|m| item.get(*m).is_none()) {
            cases.push(case(
                "a method the path does not list",
                path,
                m,
                405,
                send(c.request(method(m), app.url(path))),
            ));
        }
    }
    // Unknown paths: 404.
    for (path, m) in [("/nope", "get"), ("/api/realtime-token/x", "post")] {
        cases.push(case(
            "an unknown path",
            path,
            m,
            404,
            send(c.request(method(m), app.url(path))),
        ));
    }
    cases
}

//! `openapi.yaml` against the implementation: the service serves it byte for
//! byte, every documented (path, method, status) is produced by a real
//! request in the table below, every answer (status, headers, content type,
//! body) matches what the document says, and every status the table sees is
//! documented.
//!
//! Two answers are documented once, in `components/responses`, because they
//! belong to no operation: `NotFound` (an unknown path) and
//! `MethodNotAllowed` (a method a documented path does not list). The table
//! sends every standard method a path does not list, and unknown paths.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::HttpRequest;
use realtime_token::session::{AuthFuture, SessionAuthenticator};
use realtime_token::Application;
use serde_json::{json, Value};

use crate::support::*;

/// The methods an OpenAPI path item can list.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("openapi.yaml at the repository root");
    serde_norway::from_str(&text).expect("openapi.yaml is YAML")
}

/// Follows `$ref`s (local JSON pointers only).
fn deref<'a>(spec: &'a Value, mut v: &'a Value) -> &'a Value {
    while let Some(r) = v.get("$ref").and_then(Value::as_str) {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local $refs: {r}"));
        v = spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling $ref {r}"));
    }
    v
}

// ---------------------------------------------------------------- validator

/// Keywords the validator checks.
const CHECKED: [&str; 13] = [
    "$ref",
    "type",
    "required",
    "properties",
    "additionalProperties",
    "enum",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
];
/// Keywords that do not constrain values.
const ANNOTATIONS: [&str; 4] = ["description", "format", "example", "title"];

/// Validates `value` against `schema` (the subset of JSON Schema listed in
/// [`CHECKED`]; any other keyword fails the test rather than being ignored).
fn validate(spec: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = deref(spec, schema);
    let obj = schema.as_object().expect("a schema is an object");
    for key in obj.keys() {
        assert!(
            CHECKED.contains(&key.as_str()) || ANNOTATIONS.contains(&key.as_str()),
            "{at}: the test's validator does not implement `{key}`; extend it"
        );
    }
    let got: String = value.to_string().chars().take(200).collect();
    let mut fail = |what: String| errors.push(format!("{at}: {what} (got {got})"));
    if let Some(ty) = obj.get("type").and_then(Value::as_str) {
        let ok = match ty {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            other => panic!("{at}: unknown type {other}"),
        };
        if !ok {
            return fail(format!("not of type {ty}"));
        }
    }
    if let Some(allowed) = obj.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            fail(format!("not one of {allowed:?}"));
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if obj
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            fail("shorter than minLength".into());
        }
        if obj
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            fail("longer than maxLength".into());
        }
    }
    if let Some(n) = value.as_f64() {
        if obj
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n < m)
        {
            fail("below minimum".into());
        }
        if obj
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n > m)
        {
            fail("above maximum".into());
        }
    }
    if let Some(items) = value.as_array() {
        let len = items.len() as u64;
        if obj
            .get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            fail("fewer than minItems".into());
        }
        if obj
            .get("maxItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            fail("more than maxItems".into());
        }
        if let Some(item_schema) = obj.get("items") {
            for (i, item) in items.iter().enumerate() {
                validate(spec, item_schema, item, &format!("{at}[{i}]"), errors);
            }
        }
    }
    if let Some(map) = value.as_object() {
        let properties = obj.get("properties").and_then(Value::as_object);
        for name in obj
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap();
            if !map.contains_key(name) {
                errors.push(format!("{at}: `{name}` is required (got {got})"));
            }
        }
        for (name, v) in map {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => validate(spec, s, v, &format!("{at}.{name}"), errors),
                None => match obj.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errors.push(format!("{at}: `{name}` is not allowed (got {got})"))
                    }
                    Some(Value::Bool(true)) | None => {}
                    Some(s) => validate(spec, s, v, &format!("{at}.{name}"), errors),
                },
            }
        }
    }
}

/// A header's value as the JSON value its schema describes.
fn header_value(schema: &Value, raw: &str) -> Value {
    match schema["type"].as_str() {
        Some("integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.to_owned())),
        _ => Value::String(raw.to_owned()),
    }
}

// ------------------------------------------------------------ observations

/// What came back: status, headers (lowercase names) and body.
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
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

type Pending = Pin<Box<dyn Future<Output = Answer> + Send>>;

/// One request of the table.
struct Case {
    /// What it does, for failure messages.
    what: String,
    path: String,
    /// Lowercase, as in the document.
    method: &'static str,
    /// The status the request is built to produce.
    expect: u16,
    answer: Pending,
}

fn case(what: &str, path: &str, method: &'static str, expect: u16, answer: Pending) -> Case {
    Case {
        what: what.to_owned(),
        path: path.to_owned(),
        method,
        expect,
        answer,
    }
}

fn send(req: reqwest::RequestBuilder) -> Pending {
    Box::pin(async move { Answer::from_reqwest(req.send().await.unwrap()).await })
}

/// Sends `bytes` on a fresh connection and reads until the server closes it.
fn send_raw(base: &str, bytes: String) -> Pending {
    let addr = base.trim_start_matches("http://").to_owned();
    Box::pin(async move {
        let raw = raw_exchange(&addr, bytes.as_bytes()).await;
        Answer::from_raw(raw.as_bytes())
    })
}

fn method(m: &str) -> reqwest::Method {
    reqwest::Method::from_bytes(m.to_ascii_uppercase().as_bytes()).unwrap()
}

/// An authenticator that panics: the only way a black-box request reaches
/// the 500 path (the server's own code has no known panic to trigger).
struct Panicking;

impl SessionAuthenticator for Panicking {
    fn authenticate<'a>(&'a self, _req: &'a HttpRequest) -> AuthFuture<'a> {
        Box::pin(async { panic!("deliberate panic for the 500 test") })
    }
}

/// Starts the app with the [`Panicking`] authenticator; its base URL.
async fn spawn_panicking_app() -> String {
    let config = config_with(&[]).unwrap();
    let app = Application::build_with_authenticator(&config, Arc::new(Panicking)).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

/// A URL on which nothing listens.
fn closed_url() -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    format!("http://127.0.0.1:{port}/api/me")
}

/// The table: at least one request for every documented (path, method,
/// status), and for every error code a documented status allows.
async fn table(spec: &Value) -> Vec<Case> {
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
        case("the second request within RATE_LIMIT_IP=1/h", TOKEN, "post", 429, {
            let (client, url, cookie) = (
                limited.client.clone(),
                limited.url(TOKEN),
                limited.cookie("alice"),
            );
            Box::pin(async move {
                let first = client.post(&url).header("Cookie", &cookie).send().await;
                assert_eq!(first.unwrap().status(), 200);
                let second = client.post(&url).header("Cookie", &cookie).send().await;
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

/// Checks `answer` against the documented `response`; returns the `error`
/// code when the body has one.
fn check(
    spec: &Value,
    response: &Value,
    answer: &Answer,
    method: &str,
    errors: &mut Vec<String>,
) -> Option<String> {
    let response = deref(spec, response);
    for (name, header) in response["headers"].as_object().into_iter().flatten() {
        let header = deref(spec, header);
        let schema = deref(spec, &header["schema"]);
        match answer.headers.get(&name.to_ascii_lowercase()) {
            None if header["required"] == true => {
                errors.push(format!("header {name} is missing"));
            }
            None => {}
            Some(raw) => validate(
                spec,
                schema,
                &header_value(schema, raw),
                &format!("header {name}"),
                errors,
            ),
        }
    }
    let content_type = answer.headers.get("content-type");
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        if !answer.body.is_empty() || content_type.is_some() {
            errors.push(format!("documented without content, got {content_type:?}"));
        }
        return None;
    };
    let Some(content_type) = content_type else {
        errors.push("no Content-Type".into());
        return None;
    };
    let essence = content_type.split(';').next().unwrap().trim();
    let Some(media) = content.get(essence) else {
        errors.push(format!(
            "Content-Type {content_type} is not one of {:?}",
            content.keys().collect::<Vec<_>>()
        ));
        return None;
    };
    if method == "head" {
        assert!(answer.body.is_empty(), "a HEAD answer has no body");
        return None;
    }
    let schema = &media["schema"];
    let parsed = match essence {
        "application/json" => {
            serde_json::from_slice::<Value>(&answer.body).map_err(|e| e.to_string())
        }
        "application/yaml" => {
            serde_norway::from_slice::<Value>(&answer.body).map_err(|e| e.to_string())
        }
        _ => String::from_utf8(answer.body.clone())
            .map(Value::String)
            .map_err(|e| e.to_string()),
    };
    let value = match parsed {
        Ok(v) => v,
        Err(e) => {
            errors.push(format!("body is not {essence}: {e}"));
            return None;
        }
    };
    validate(spec, schema, &value, "body", errors);
    value["error"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_answer_is_produced_and_matches_the_document() {
    let spec = spec();
    let paths = spec["paths"].as_object().unwrap();
    let mut documented: BTreeSet<(String, String, String)> = BTreeSet::new();
    // (path, method, status) -> the error codes the document allows.
    let mut codes: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    for (path, item) in paths {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            for (status, response) in op["responses"].as_object().unwrap() {
                let key = (path.clone(), m.to_owned(), status.clone());
                documented.insert(key.clone());
                for media in deref(&spec, response)["content"]
                    .as_object()
                    .into_iter()
                    .flat_map(|c| c.values())
                {
                    let schema = deref(&spec, &media["schema"]);
                    for code in schema["properties"]["error"]["enum"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        codes
                            .entry(key.clone())
                            .or_default()
                            .insert(code.as_str().unwrap().to_owned());
                    }
                }
            }
        }
    }

    let cases = table(&spec).await;
    let mut meta = Vec::new();
    let mut pending = Vec::new();
    for c in cases {
        pending.push(tokio::spawn(c.answer));
        meta.push((c.what, c.path, c.method, c.expect));
    }
    let mut failures = Vec::new();
    let mut seen: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut seen_codes: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    for ((what, path, m, expect), answer) in meta.into_iter().zip(pending) {
        let answer = answer.await.unwrap();
        let label = format!("{} {path} ({what}) -> {}", m.to_uppercase(), answer.status);
        let mut errors = Vec::new();
        if answer.status != expect {
            errors.push(format!("expected {expect}"));
        }
        let status = answer.status.to_string();
        let response = match paths.get(&path) {
            Some(item) => match item.get(m) {
                Some(op) => op["responses"].get(&status),
                None => {
                    (status == "405").then(|| &spec["components"]["responses"]["MethodNotAllowed"])
                }
            },
            None => (status == "404").then(|| &spec["components"]["responses"]["NotFound"]),
        };
        let Some(response) = response else {
            failures.push(format!("{label}: status not documented"));
            continue;
        };
        let code = check(&spec, response, &answer, m, &mut errors);
        if paths.get(&path).is_some_and(|item| item.get(m).is_some()) {
            let key = (path.clone(), m.to_owned(), status);
            if let Some(code) = code {
                seen_codes.entry(key.clone()).or_default().insert(code);
            }
            seen.insert(key);
        }
        if path == "/api/realtime-token" && answer.status == 405 {
            assert_eq!(answer.headers["allow"], "POST, OPTIONS", "{label}");
        }
        failures.extend(errors.into_iter().map(|e| format!("{label}: {e}")));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let missing: Vec<_> = documented.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "documented but no request in the table produces it: {missing:?}"
    );
    assert_eq!(
        codes, seen_codes,
        "documented error codes (left) versus the codes the table produced (right)"
    );
}

#[tokio::test]
async fn the_service_serves_the_document_byte_for_byte() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/openapi.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/yaml");
    let served = res.bytes().await.unwrap();
    let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    assert!(
        served == file,
        "the served document differs from openapi.yaml"
    );
}

#[test]
fn the_document_is_well_formed() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.0."));
    assert_eq!(spec["info"]["version"], env!("CARGO_PKG_VERSION"));
    // Every $ref resolves.
    fn walk(spec: &Value, v: &Value) {
        match v {
            Value::Object(map) => {
                if map.contains_key("$ref") {
                    deref(spec, v);
                }
                map.values().for_each(|v| walk(spec, v));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(spec, v)),
            _ => {}
        }
    }
    walk(&spec, &spec);
    // The routes the app registers, and nothing else.
    let paths: BTreeSet<&str> = spec["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            "/api/realtime-token",
            "/healthz",
            "/readyz",
            "/metrics",
            "/openapi.yaml"
        ])
    );
    // Every error code in the README's table, and only those, is documented.
    let mut documented = BTreeSet::new();
    for schema in spec["components"]["schemas"].as_object().unwrap().values() {
        for code in schema["properties"]["error"]["enum"]
            .as_array()
            .into_iter()
            .flatten()
        {
            documented.insert(code.as_str().unwrap());
        }
    }
    assert_eq!(
        documented,
        BTreeSet::from([
            "invalid_request",
            "unauthenticated",
            "origin_not_allowed",
            "room_not_allowed",
            "not_found",
            "method_not_allowed",
            "request_timeout",
            "payload_too_large",
            "unsupported_media_type",
            "rate_limited",
            "internal_error",
            "session_backend_unavailable",
        ])
    );
}

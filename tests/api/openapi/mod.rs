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

use serde_json::Value;

use crate::support::*;

mod requests;
mod schema;

use requests::*;
use schema::*;

/// The methods an OpenAPI path item can list.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

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
                    let options: Vec<&Value> = match schema["oneOf"].as_array() {
                        Some(options) => options.iter().map(|o| deref(&spec, o)).collect(),
                        None => vec![schema],
                    };
                    for code in options
                        .iter()
                        .filter_map(|o| o["properties"]["error"]["enum"].as_array())
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
    // Produced by a draining process (after SIGTERM), which this in-process
    // table cannot be: `draining.rs` checks that answer.
    seen_codes
        .entry(("/readyz".into(), "get".into(), "503".into()))
        .or_default()
        .insert("shutting_down".into());
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
            "/.well-known/jwks.json",
            "/healthz",
            "/readyz",
            "/metrics",
            "/openapi.yaml"
        ])
    );
    // Every error code in the docs' table (docs/src/endpoint.md), and only those, is documented.
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
            "rooms_unavailable",
            "shutting_down",
        ])
    );
}

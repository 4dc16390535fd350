use crate::support::*;

#[tokio::test]
async fn get_is_405_with_allow() {
    let app = spawn_app().await;
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let res = app
            .client
            .request(method, app.url("/api/realtime-token"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["allow"], "POST, OPTIONS");
        expect_error(res, 405, "method_not_allowed").await;
    }
}

#[tokio::test]
async fn unknown_path_is_json_404() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/nope")).send().await.unwrap();
    expect_error(res, 404, "not_found").await;
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let app = spawn_app().await;
    let big = format!(r#"{{"rooms":["{}"]}}"#, "a".repeat(8 * 1024));
    let res = app
        .client
        .post(app.url("/api/realtime-token"))
        .header("Cookie", app.cookie("alice"))
        .header("Content-Type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    expect_error(res, 413, "payload_too_large").await;

    // Chunked, without Content-Length.
    let stream = futures_util::stream::iter(
        big.into_bytes()
            .chunks(1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let res = app
        .client
        .post(app.url("/api/realtime-token"))
        .header("Cookie", app.cookie("alice"))
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    expect_error(res, 413, "payload_too_large").await;
}

#[tokio::test]
async fn non_json_body_is_415() {
    let app = spawn_app().await;
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut req = app
            .client
            .post(app.url("/api/realtime-token"))
            .header("Cookie", app.cookie("alice"))
            .body(r#"{"rooms":["document-1"]}"#);
        if let Some(ct) = ct {
            req = req.header("Content-Type", ct);
        }
        expect_error(req.send().await.unwrap(), 415, "unsupported_media_type").await;
    }
    // An empty body needs no content type.
    let res = app
        .client
        .post(app.url("/api/realtime-token"))
        .header("Cookie", app.cookie("alice"))
        .header("Content-Type", "text/plain")
        .send()
        .await
        .unwrap();
    expect_token(res).await;
}

#[tokio::test]
async fn malformed_json_is_400_and_the_service_keeps_serving() {
    let app = spawn_app().await;
    for body in [
        "{",
        "[]",
        r#"{"rooms": "x"}"#,
        r#"{"rooms": ["a"], "rooms": ["b"]}"#,
        r#"{"unknown": 1}"#,
        "null",
    ] {
        let res = app
            .client
            .post(app.url("/api/realtime-token"))
            .header("Cookie", app.cookie("alice"))
            .header("Content-Type", "application/json; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap();
        expect_error(res, 400, "invalid_request").await;
    }
    expect_token(app.post_token(Some(&app.cookie("alice"))).await).await;
}

#[tokio::test]
async fn a_body_that_never_arrives_is_cut_off_with_408() {
    let app = spawn_app().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST /api/realtime-token HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"rooms\":",
        app.cookie("alice")
    );
    let text = raw_exchange(&addr, head.as_bytes()).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request_timeout"));
    assert!(!text.contains("token\""));
}

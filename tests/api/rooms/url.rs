//! `ROOMS_URL`: the app's own endpoint (a real HTTP server in the test),
//! asked with the user's session cookies and the requested rooms.

use serde_json::{json, Value};

use super::*;
use crate::support::upstream::{Answer, Upstream};

async fn app_for(upstream: &Upstream, extra: &[(&str, &str)]) -> TestApp {
    let url = upstream.url();
    let mut env = vec![("REALTIME_ROOMS", ""), ("ROOMS_URL", url.as_str())];
    env.extend_from_slice(extra);
    spawn_app_with(&env).await
}

/// The `Cookie` header and JSON body of the endpoint's last request.
fn last_request(upstream: &Upstream) -> (Option<String>, Value) {
    let (_, headers) = upstream.seen.lock().unwrap().last().cloned().unwrap();
    let cookie = headers
        .iter()
        .find(|(k, _)| k == "cookie")
        .map(|(_, v)| v.clone());
    let body = upstream.bodies.lock().unwrap().last().cloned().unwrap();
    (cookie, serde_json::from_str(&body).unwrap())
}

#[tokio::test]
async fn asks_with_the_session_cookies_only_and_the_requested_rooms() {
    let upstream = Upstream::start(Answer::Json(
        json!({"rooms": ["document-1", "team-*", "not a room"]}),
    ))
    .await;
    let app = app_for(&upstream, &[]).await;
    let session = app.cookie("alice");
    let cookies = format!("theme=dark; {session}; __Secure-session.1=chunk; tracker=xyz");
    let rooms = rooms_of(app.post_token(Some(&cookies)).await).await;
    assert_eq!(rooms, ["document-1", "team-*"]);
    let (cookie, body) = last_request(&upstream);
    assert_eq!(
        cookie.as_deref(),
        Some(format!("{session}; __Secure-session.1=chunk").as_str())
    );
    assert_eq!(body, json!({"sub": "alice", "rooms": null}));

    let asked = json!({"rooms": ["team-red"]});
    assert_eq!(
        rooms_of(app.post_json(&cookies, asked).await).await,
        ["team-red"]
    );
    assert_eq!(
        last_request(&upstream).1,
        json!({"sub": "alice", "rooms": ["team-red"]})
    );
    let outside = json!({"rooms": ["document-2"]});
    expect_error(
        app.post_json(&cookies, outside).await,
        403,
        "room_not_allowed",
    )
    .await;

    // ROOMS_URL_COOKIES names other cookies.
    let named = app_for(&upstream, &[("ROOMS_URL_COOKIES", "theme")]).await;
    let cookies = format!("theme=dark; {}; tracker=xyz", named.cookie("alice"));
    expect_token(named.post_token(Some(&cookies)).await).await;
    assert_eq!(last_request(&upstream).0.as_deref(), Some("theme=dark"));
}

#[tokio::test]
async fn with_the_upstream_backend_the_whole_cookie_header_goes_as_it_does_there() {
    let me = Upstream::start(Answer::Json(json!({"id": "alice"}))).await;
    let rooms = Upstream::start(Answer::Json(json!({"rooms": ["document-1"]}))).await;
    let me_url = me.url();
    let app = app_for(
        &rooms,
        &[
            ("SESSION_BACKEND", "upstream"),
            ("SESSION_UPSTREAM_URL", &me_url),
        ],
    )
    .await;
    let cookies = "app_session=abc; theme=dark";
    assert_eq!(
        rooms_of(app.post_token(Some(cookies)).await).await,
        ["document-1"]
    );
    assert_eq!(last_request(&rooms).0.as_deref(), Some(cookies));
}

#[tokio::test]
async fn a_401_or_403_from_the_app_grants_nothing() {
    let upstream = Upstream::start(Answer::Status(401)).await;
    let app = app_for(&upstream, &[("REALTIME_ROOMS", "user-{sub}")]).await;
    let alice = app.cookie("alice");
    assert_eq!(
        rooms_of(app.post_token(Some(&alice)).await).await,
        ["user-alice"]
    );
    upstream.set(Answer::Status(403));
    assert_eq!(
        rooms_of(app.post_token(Some(&alice)).await).await,
        ["user-alice"]
    );
    let alone = app_for(&upstream, &[]).await;
    let res = alone.post_token(Some(&alone.cookie("alice"))).await;
    expect_error(res, 403, "room_not_allowed").await;
}

#[tokio::test]
async fn any_other_answer_is_503_never_fewer_rooms() {
    let upstream = Upstream::start(Answer::Status(500)).await;
    let app = app_for(
        &upstream,
        &[("REALTIME_ROOMS", "user-{sub}"), ("ROOMS_TIMEOUT", "300ms")],
    )
    .await;
    let alice = app.cookie("alice");
    for answer in [
        Answer::Status(500),
        Answer::Status(404),
        Answer::Garbage,
        Answer::Redirect,
        Answer::Json(json!({"rooms": "document-1"})),
        Answer::Json(json!({"rooms": [1]})),
        Answer::Json(json!(["document-1"])),
        Answer::Hang,
    ] {
        upstream.set(answer);
        let res = app.post_token(Some(&alice)).await;
        expect_error(res, 503, "rooms_unavailable").await;
    }
    let closed = app_for_closed().await;
    let res = closed.post_token(Some(&closed.cookie("alice"))).await;
    expect_error(res, 503, "rooms_unavailable").await;
}

async fn app_for_closed() -> TestApp {
    let url = format!("http://127.0.0.1:{}/rooms", free_port());
    spawn_app_with(&[("ROOMS_URL", &url)]).await
}

#[tokio::test]
async fn admin_minting_sends_the_app_no_cookies() {
    let upstream = Upstream::start(Answer::ForCookie(
        "session=".into(),
        json!({"rooms": ["document-1"]}),
    ))
    .await;
    let app = app_for(
        &upstream,
        &[
            ("ADMIN_API_KEY", ADMIN_KEY),
            ("REALTIME_ROOMS", "user-{sub}"),
        ],
    )
    .await;
    // The operator's own session cookie must not speak for `sub`.
    let res = app
        .client
        .post(app.url("/api/realtime-token"))
        .bearer_auth(ADMIN_KEY)
        .header("Cookie", app.cookie("operator"))
        .json(&json!({"sub": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rooms_of(res).await, ["user-alice"]);
    let (cookie, body) = last_request(&upstream);
    assert_eq!(cookie, None);
    assert_eq!(body["sub"], "alice");
}

#[tokio::test]
async fn readyz_wants_a_401_without_a_session() {
    let upstream = Upstream::start(Answer::Status(401)).await;
    let app = app_for(&upstream, &[]).await;
    app.eventually_ready().await;
    // Rooms for a request without a session: not an endpoint that decides
    // from the session.
    let lax = Upstream::start(Answer::Json(json!({"rooms": []}))).await;
    let app = app_for(&lax, &[]).await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    expect_error(ready, 503, "rooms_unavailable").await;
    let closed = app_for_closed().await;
    let ready = closed
        .client
        .get(closed.url("/readyz"))
        .send()
        .await
        .unwrap();
    expect_error(ready, 503, "rooms_unavailable").await;
}

#[test]
fn settings_name_the_variable() {
    let error = |overrides: &[(&str, &str)], var: &str| {
        let errors = config_with(overrides).unwrap_err();
        assert!(errors.mentions(var), "{var} not named in {errors}");
    };
    error(&[("ROOMS_URL", "ftp://app/rooms")], "ROOMS_URL");
    let url = ("ROOMS_URL", "http://127.0.0.1:3000/rooms");
    error(&[url, ("ROOMS_URL_COOKIES", "a b")], "ROOMS_URL_COOKIES");
    error(&[url, ("ROOMS_REDIS_KEY", "rooms:{sub}")], "ROOMS_URL");
}

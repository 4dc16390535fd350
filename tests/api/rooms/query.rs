//! `ROOMS_QUERY` end to end: the real PostgreSQL, a signed-cookie session.

use std::time::Duration;

use serde_json::json;

use super::*;

#[tokio::test]
async fn grants_exactly_the_members_documents_on_top_of_the_env_policy() {
    let db = Memberships::create().await;
    for (user, doc) in [("alice", 1), ("alice", 2), ("bob", 3)] {
        db.add(user, doc).await;
    }
    let app = serve_query(&db.query(), &[("REALTIME_ROOMS", "user-{sub}")]).await;
    let alice = app.cookie("alice");
    let all = rooms_of(app.post_token(Some(&alice)).await).await;
    assert_eq!(all, ["user-alice", "document-1", "document-2"]);
    let some = rooms_of(
        app.post_json(&alice, json!({"rooms": ["document-2"]}))
            .await,
    )
    .await;
    assert_eq!(some, ["document-2"]);
    // Bob's document, alone or beside one of hers: refused by name.
    for asked in [json!(["document-3"]), json!(["document-1", "document-3"])] {
        let res = app.post_json(&alice, json!({ "rooms": asked })).await;
        let message = expect_error(res, 403, "room_not_allowed").await;
        assert!(message.contains("document-3"), "{message}");
    }
    let bob = rooms_of(app.post_token(Some(&app.cookie("bob"))).await).await;
    assert_eq!(bob, ["user-bob", "document-3"]);
    let carol = rooms_of(app.post_token(Some(&app.cookie("carol"))).await).await;
    assert_eq!(carol, ["user-carol"]);

    let metrics = app.metrics().await;
    assert_eq!(metric(&metrics, "realtime_token_room_lookups_total"), 6.0);
    assert_eq!(
        metric(&metrics, "realtime_token_room_lookup_errors_total"),
        0.0
    );
    assert_eq!(
        metric(&metrics, "realtime_token_room_lookup_seconds_count"),
        6.0
    );
}

#[tokio::test]
async fn with_a_source_the_env_policy_may_be_empty_and_nothing_granted_is_403() {
    let db = Memberships::create().await;
    db.add("alice", 1).await;
    let app = serve_query(&db.query(), &[]).await;
    let alice = rooms_of(app.post_token(Some(&app.cookie("alice"))).await).await;
    assert_eq!(alice, ["document-1"]);
    let res = app.post_token(Some(&app.cookie("carol"))).await;
    expect_error(res, 403, "room_not_allowed").await;
}

#[tokio::test]
async fn a_membership_added_or_removed_applies_on_the_next_request() {
    let db = Memberships::create().await;
    db.add("alice", 1).await;
    let app = serve_query(&db.query(), &[]).await;
    let alice = app.cookie("alice");
    let ask = json!({"rooms": ["document-2"]});
    expect_error(
        app.post_json(&alice, ask.clone()).await,
        403,
        "room_not_allowed",
    )
    .await;
    db.add("alice", 2).await;
    assert_eq!(
        rooms_of(app.post_json(&alice, ask.clone()).await).await,
        ["document-2"]
    );
    assert_eq!(
        rooms_of(app.post_token(Some(&alice)).await).await,
        ["document-1", "document-2"]
    );
    db.remove("alice", 2).await;
    expect_error(app.post_json(&alice, ask).await, 403, "room_not_allowed").await;
    assert_eq!(
        rooms_of(app.post_token(Some(&alice)).await).await,
        ["document-1"]
    );
}

#[tokio::test]
async fn hostile_subjects_are_bound_as_data() {
    let db = Memberships::create().await;
    db.execute("CREATE TABLE {s}.x (id int)").await;
    let quote = "o'brien";
    let injection = "'; drop table x; --";
    let widening = "nobody' or '1'='1";
    db.add(quote, 10).await;
    db.add(injection, 11).await;
    db.add("alice", 12).await;
    let app = serve_query(&db.query(), &[]).await;
    let rooms = rooms_of(app.post_token(Some(&app.cookie(quote))).await).await;
    assert_eq!(rooms, ["document-10"]);
    let rooms = rooms_of(app.post_token(Some(&app.cookie(injection))).await).await;
    assert_eq!(rooms, ["document-11"]);
    let res = app.post_token(Some(&app.cookie(widening))).await;
    expect_error(res, 403, "room_not_allowed").await;
    // A requested room is data too.
    let res = app
        .post_json(&app.cookie(quote), json!({"rooms": ["document-12"]}))
        .await;
    expect_error(res, 403, "room_not_allowed").await;
    assert!(db.exists("x").await, "the table survived");
    assert!(db.exists("memberships").await);
}

#[tokio::test]
async fn more_rooms_than_rooms_max_must_be_named() {
    let db = Memberships::create().await;
    for doc in 1..=5 {
        db.add("alice", doc).await;
    }
    let app = serve_query(&db.query(), &[("ROOMS_MAX", "4")]).await;
    let alice = app.cookie("alice");
    let message = expect_error(app.post_token(Some(&alice)).await, 403, "room_not_allowed").await;
    assert!(message.contains("more than 4 rooms"), "{message}");
    assert!(message.contains("\"rooms\""), "{message}");
    let named = json!({"rooms": ["document-5", "document-1"]});
    assert_eq!(
        rooms_of(app.post_json(&alice, named).await).await,
        ["document-5", "document-1"]
    );
}

#[tokio::test]
async fn invalid_values_are_dropped_and_the_valid_ones_kept() {
    let db = Memberships::create().await;
    db.execute(
        "CREATE TABLE {s}.grants (user_id text, room text);
         INSERT INTO {s}.grants VALUES ('alice', 'document-7'), ('alice', 'a,b'),
           ('alice', 'a b'), ('alice', 'do*c'), ('alice', repeat('x', 129)), ('alice', NULL),
           ('alice', ''), ('alice', 'team-*');",
    )
    .await;
    let query = format!(
        "select room from {}.grants where user_id = $1",
        db.schema.name
    );
    let app = serve_query(&query, &[]).await;
    let alice = app.cookie("alice");
    let rooms = rooms_of(app.post_token(Some(&alice)).await).await;
    assert_eq!(rooms, ["document-7", "team-*"]);
    // A pattern the source grants covers what is inside it.
    let inside = json!({"rooms": ["team-red"]});
    assert_eq!(
        rooms_of(app.post_json(&alice, inside).await).await,
        ["team-red"]
    );
    let dropped = metric(
        &app.metrics().await,
        "realtime_token_room_values_dropped_total",
    );
    assert_eq!(dropped, 12.0, "6 invalid values in each of 2 lookups");
}

#[tokio::test]
async fn database_down_is_503_rooms_unavailable_and_tokens_return_with_it() {
    let db = Memberships::create().await;
    db.add("alice", 1).await;
    let proxy = FaultProxy::start("127.0.0.1:5432").await;
    let (query, url) = (db.query(), via(&proxy));
    let app = serve_query(
        &query,
        &[
            ("REALTIME_ROOMS", "document-*,user-{sub}"),
            ("ROOMS_DATABASE_URL", &url),
            ("ROOMS_TIMEOUT", "500ms"),
        ],
    )
    .await;
    let alice = app.cookie("alice");
    expect_token(app.post_token(Some(&alice)).await).await;

    proxy.set(ProxyMode::Down);
    let res = app.post_token(Some(&alice)).await;
    assert_eq!(res.headers()["retry-after"], "2");
    expect_error(res, 503, "rooms_unavailable").await;
    // Even a request the env policy alone covers: never fewer rooms.
    let res = app
        .post_json(&alice, json!({"rooms": ["document-9"]}))
        .await;
    expect_error(res, 503, "rooms_unavailable").await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    expect_error(ready, 503, "rooms_unavailable").await;
    let errors = metric(
        &app.metrics().await,
        "realtime_token_room_lookup_errors_total",
    );
    assert_eq!(errors, 2.0);

    proxy.set(ProxyMode::Up);
    expect_token(eventually_status(&app, &alice, 200).await).await;
    app.eventually_ready().await;

    proxy.set(ProxyMode::Hang);
    let res = app.post_token(Some(&alice)).await;
    expect_error(res, 503, "rooms_unavailable").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_under_load_never_yields_a_token() {
    let db = Memberships::create().await;
    db.add("alice", 1).await;
    let proxy = FaultProxy::start("127.0.0.1:5432").await;
    let (query, url) = (db.query(), via(&proxy));
    let mut env = vec![("ROOMS_DATABASE_URL", url.as_str())];
    env.extend_from_slice(LOAD_ENV);
    let app = serve_query(&query, &env).await;
    outage_under_load(&app, &proxy, &app.cookie("alice")).await;
}

#[tokio::test]
async fn a_slow_query_is_503_within_rooms_timeout_and_does_not_hold_up_the_next() {
    let db = Memberships::create().await;
    db.add("alice", 1).await;
    db.add("slow", 2).await;
    // Slow for one subject only: the same connection pool serves both.
    let query = format!(
        "select 'document-' || document_id from {}.memberships \
         cross join pg_sleep(case when $1 = 'slow' then 30 else 0 end) where user_id = $1",
        db.schema.name
    );
    let app = serve_query(&query, &[("ROOMS_TIMEOUT", "300ms")]).await;
    // The client gives up long before the query's 30 s would end.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let res = client
        .post(app.url("/api/realtime-token"))
        .header("Cookie", app.cookie("slow"))
        .send()
        .await
        .expect("answered before the query finished");
    expect_error(res, 503, "rooms_unavailable").await;
    // The connection still sleeping is not handed to the next lookup.
    let res = client
        .post(app.url("/api/realtime-token"))
        .header("Cookie", app.cookie("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(rooms_of(res).await, ["document-1"]);
}

#[tokio::test]
async fn the_session_store_and_the_query_on_one_database_share_a_pool() {
    let sessions = SessionTable::create().await;
    let db = Memberships::create().await;
    db.add("alice", 1).await;
    let proxy = FaultProxy::start("127.0.0.1:5432").await;
    let (query, url) = (db.query(), via(&proxy));
    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "postgres"),
        ("DATABASE_URL", &url),
        ("SESSION_PG_TABLE", &sessions.name),
        ("ROOMS_QUERY", &query),
        ("REALTIME_ROOMS", ""),
    ])
    .await;
    sessions
        .put("sid-pool", json!({"cookie": {}, "userId": "alice"}), 3600)
        .await;
    let cookie = express_cookie("sid-pool");
    for _ in 0..3 {
        assert_eq!(
            rooms_of(app.post_token(Some(&cookie)).await).await,
            ["document-1"]
        );
    }
    // One request at a time: the session lookup and the query took turns
    // on one connection (two pools would have opened two).
    assert_eq!(proxy.accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

//! `ROOMS_CACHE_TTL`: source answers reused per subject and requested
//! rooms, concurrent lookups shared, failures never kept.

use serde_json::json;

use super::*;

async fn counts(app: &TestApp) -> (f64, f64) {
    let text = app.metrics().await;
    (
        metric(&text, "realtime_token_room_lookups_total"),
        metric(&text, "realtime_token_room_cache_hits_total"),
    )
}

#[tokio::test]
async fn answers_are_kept_per_subject_and_requested_rooms() {
    let db = Memberships::create().await;
    db.add("alice", 1).await;
    db.add("bob", 2).await;
    let app = serve_query(&db.query(), &[("ROOMS_CACHE_TTL", "5m")]).await;
    let alice = app.cookie("alice");
    assert_eq!(
        rooms_of(app.post_token(Some(&alice)).await).await,
        ["document-1"]
    );
    // The trade-off: within the TTL a new membership is not seen yet.
    db.add("alice", 3).await;
    assert_eq!(
        rooms_of(app.post_token(Some(&alice)).await).await,
        ["document-1"]
    );
    assert_eq!(counts(&app).await, (1.0, 1.0));
    // Another requested set, in any order, is another entry; so is bob.
    let asked = json!({"rooms": ["document-3", "document-1"]});
    assert_eq!(
        rooms_of(app.post_json(&alice, asked).await).await,
        ["document-3", "document-1"]
    );
    let reordered = json!({"rooms": ["document-1", "document-3", "document-1"]});
    expect_token(app.post_json(&alice, reordered).await).await;
    assert_eq!(
        rooms_of(app.post_token(Some(&app.cookie("bob"))).await).await,
        ["document-2"]
    );
    assert_eq!(counts(&app).await, (3.0, 2.0));
}

#[tokio::test]
async fn concurrent_requests_for_one_answer_ask_the_source_once() {
    let db = Memberships::create().await;
    db.add("alice", 1).await;
    let query = format!(
        "select 'document-' || document_id from {}.memberships cross join pg_sleep(0.3) where user_id = $1",
        db.schema.name
    );
    let app = serve_query(
        &query,
        &[("ROOMS_CACHE_TTL", "5m"), ("RATE_LIMIT_SUBJECT", "off")],
    )
    .await;
    let alice = app.cookie("alice");
    let answers =
        futures_util::future::join_all((0..10).map(|_| app.post_token(Some(&alice)))).await;
    for res in answers {
        assert_eq!(rooms_of(res).await, ["document-1"]);
    }
    // Shared while in flight, or (arriving later) kept: one lookup.
    assert_eq!(counts(&app).await.0, 1.0);
}

#[tokio::test]
async fn a_failure_is_never_kept() {
    let db = Memberships::create().await;
    db.add("alice", 1).await;
    let proxy = FaultProxy::start("127.0.0.1:5432").await;
    let (query, url) = (db.query(), via(&proxy));
    let app = serve_query(
        &query,
        &[
            ("ROOMS_DATABASE_URL", &url),
            ("ROOMS_CACHE_TTL", "5m"),
            ("ROOMS_TIMEOUT", "500ms"),
        ],
    )
    .await;
    proxy.set(ProxyMode::Down);
    let alice = app.cookie("alice");
    expect_error(app.post_token(Some(&alice)).await, 503, "rooms_unavailable").await;
    proxy.set(ProxyMode::Up);
    // Within seconds, not the 5 minutes a kept failure would last.
    let res = eventually_status(&app, &alice, 200).await;
    assert_eq!(rooms_of(res).await, ["document-1"]);
}

//! `ROOMS_REDIS_KEY`: a Redis set per user, maintained by the app, on the
//! real Redis (each test under a key prefix of its own) and on a cluster.

use redis::AsyncCommands as _;
use serde_json::json;

use super::*;

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The service with `ROOMS_REDIS_KEY=template` on `redis` and no env
/// grants, then `extra`.
async fn serve_sets(template: &str, redis: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![
        ("REALTIME_ROOMS", ""),
        ("ROOMS_REDIS_KEY", template),
        ("REDIS_URL", redis),
    ];
    env.extend_from_slice(extra);
    spawn_app_with(&env).await
}

/// Alice's set (`document-1`) under a prefix of its own, on the real Redis
/// seen through a proxy that can take it down.
struct AliceSet {
    key: String,
    template: String,
    proxy: FaultProxy,
    url: String,
}

impl AliceSet {
    async fn behind_proxy() -> Self {
        let prefix = unique("rooms-");
        let key = format!("{prefix}:alice");
        let _: () = redis().await.sadd(&key, "document-1").await.unwrap();
        let proxy = FaultProxy::start("127.0.0.1:6379").await;
        Self {
            key,
            template: format!("{prefix}:{{sub}}"),
            url: format!("redis://127.0.0.1:{}", proxy.port),
            proxy,
        }
    }

    async fn remove(self) {
        let _: () = redis().await.del(&self.key).await.unwrap();
    }
}

#[tokio::test]
async fn grants_the_members_of_the_users_set_and_follows_its_changes() {
    let prefix = unique("rooms-");
    let mut conn = redis().await;
    let key = |user: &str| format!("{prefix}:{user}");
    let _: () = conn
        .sadd(key("alice"), &["document-1", "team-7:*", "not a room"])
        .await
        .unwrap();
    let _: () = conn.sadd(key("bob"), "document-3").await.unwrap();
    let template = format!("{prefix}:{{sub}}");
    let url = redis_url();
    let app = serve_sets(&template, &url, &[]).await;
    let alice = app.cookie("alice");
    let mut rooms = rooms_of(app.post_token(Some(&alice)).await).await;
    rooms.sort();
    assert_eq!(rooms, ["document-1", "team-7:*"]);
    let inside = json!({"rooms": ["team-7:chat"]});
    assert_eq!(
        rooms_of(app.post_json(&alice, inside).await).await,
        ["team-7:chat"]
    );
    let bobs = json!({"rooms": ["document-3"]});
    expect_error(
        app.post_json(&alice, bobs.clone()).await,
        403,
        "room_not_allowed",
    )
    .await;
    // The app adds and removes members: the next request sees it.
    let _: () = conn.sadd(key("alice"), "document-3").await.unwrap();
    assert_eq!(
        rooms_of(app.post_json(&alice, bobs.clone()).await).await,
        ["document-3"]
    );
    let _: () = conn.srem(key("alice"), "document-3").await.unwrap();
    expect_error(app.post_json(&alice, bobs).await, 403, "room_not_allowed").await;
    // No set: nothing granted.
    expect_error(
        app.post_token(Some(&app.cookie("carol"))).await,
        403,
        "room_not_allowed",
    )
    .await;
    let dropped = metric(
        &app.metrics().await,
        "realtime_token_room_values_dropped_total",
    );
    assert_eq!(dropped, 5.0, "`not a room` in each of alice's 5 lookups");
    let _: () = conn.del(&[key("alice"), key("bob")]).await.unwrap();
}

#[tokio::test]
async fn a_subject_that_cannot_name_a_key_reads_no_set() {
    let prefix = unique("rooms-");
    let mut conn = redis().await;
    // What naive text substitution would read for these subjects.
    for sub in ["a b", "x:y"] {
        let _: () = conn
            .sadd(format!("{prefix}:{sub}:docs"), "document-1")
            .await
            .unwrap();
    }
    let template = format!("{prefix}:{{sub}}:docs");
    let url = redis_url();
    let app = serve_sets(&template, &url, &[]).await;
    // `a b` is not a safe value; `x:y` holds the separator that follows {sub}.
    for sub in ["a b", "x:y"] {
        let res = app.post_token(Some(&app.cookie(sub))).await;
        expect_error(res, 403, "room_not_allowed").await;
    }
    let keys: Vec<String> = conn.keys(format!("{prefix}:*")).await.unwrap();
    let _: () = conn.del(keys).await.unwrap();
}

#[tokio::test]
async fn a_key_that_is_not_a_set_is_503_not_fewer_rooms() {
    let prefix = unique("rooms-");
    let mut conn = redis().await;
    let _: () = conn
        .set_ex(format!("{prefix}:alice"), "document-1", 60)
        .await
        .unwrap();
    let template = format!("{prefix}:{{sub}}");
    let url = redis_url();
    let app = serve_sets(&template, &url, &[]).await;
    let res = app.post_token(Some(&app.cookie("alice"))).await;
    expect_error(res, 503, "rooms_unavailable").await;
}

#[tokio::test]
async fn redis_down_is_503_and_readyz_says_so_until_it_returns() {
    let set = AliceSet::behind_proxy().await;
    let app = serve_sets(&set.template, &set.url, &[("ROOMS_TIMEOUT", "300ms")]).await;
    let proxy = &set.proxy;
    let alice = app.cookie("alice");
    assert_eq!(
        rooms_of(app.post_token(Some(&alice)).await).await,
        ["document-1"]
    );
    proxy.set(ProxyMode::Down);
    let res = eventually_status(&app, &alice, 503).await;
    assert_eq!(res.headers()["retry-after"], "2");
    expect_error(res, 503, "rooms_unavailable").await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    expect_error(ready, 503, "rooms_unavailable").await;
    proxy.set(ProxyMode::Up);
    assert_eq!(
        rooms_of(eventually_status(&app, &alice, 200).await).await,
        ["document-1"]
    );
    app.eventually_ready().await;
    set.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_under_load_never_yields_a_token() {
    let set = AliceSet::behind_proxy().await;
    let app = serve_sets(&set.template, &set.url, LOAD_ENV).await;
    outage_under_load(&app, &set.proxy, &app.cookie("alice")).await;
    set.remove().await;
}

#[tokio::test]
async fn sets_named_by_an_array_attribute_are_read_across_a_cluster() {
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::start(3, 0, false, 15000))
        .await
        .unwrap();
    let port = cluster.ports[0];
    // Enough teams that their sets live on more than one node.
    let teams: Vec<String> = (0..8).map(|i| format!("t{i}")).collect();
    for team in &teams {
        let key = format!("team-rooms:{team}");
        let room = format!("team-{team}:*");
        assert_eq!(cluster.cli(port, &["-c", "sadd", &key, &room]), "1");
    }
    let owners: std::collections::BTreeSet<u16> = teams
        .iter()
        .map(|t| cluster.owner(&format!("team-rooms:{t}")))
        .collect();
    assert!(owners.len() > 1, "every set on one node");
    let nodes = cluster.nodes_var("127.0.0.1");
    let app = spawn_app_with(&[
        ("REALTIME_ROOMS", ""),
        ("SESSION_COOKIE_VALUE", "json"),
        ("SESSION_ATTRIBUTES", "teams=/teams"),
        ("ROOMS_REDIS_KEY", "team-rooms:{teams}"),
        ("REDIS_CLUSTER", &nodes),
    ])
    .await;
    let cookie = app.cookie(&format!("j:{}", json!({"sub": "alice", "teams": teams})));
    let mut rooms = rooms_of(app.post_token(Some(&cookie)).await).await;
    rooms.sort();
    let mut expected: Vec<String> = teams.iter().map(|t| format!("team-{t}:*")).collect();
    expected.sort();
    assert_eq!(rooms, expected);
    app.eventually_ready().await;
}

#[test]
fn settings_name_the_variable() {
    let error = |overrides: &[(&str, &str)], var: &str| {
        let errors = config_with(overrides).unwrap_err();
        assert!(errors.mentions(var), "{var} not named in {errors}");
    };
    let key = ("ROOMS_REDIS_KEY", "rooms:{sub}");
    error(&[key], "REDIS_URL");
    error(&[("ROOMS_REDIS_KEY", "rooms:{sub}*")], "ROOMS_REDIS_KEY");
    error(&[("ROOMS_REDIS_KEY", "rooms {sub}")], "ROOMS_REDIS_KEY");
    let redis = ("REDIS_URL", "redis://127.0.0.1:6379");
    let query = ("ROOMS_QUERY", "select 'd' where $1 is not null");
    let db = ("DATABASE_URL", "postgres://u@127.0.0.1/app");
    error(&[key, redis, query, db], "ROOMS_REDIS_KEY");
    assert!(config_with(&[key, redis, ("REALTIME_ROOMS", "")]).is_ok());
}

//! The `redis` backend against the real Redis (express-session + connect-redis layout).

use redis::AsyncCommands as _;
use serde_json::json;

use crate::support::*;

struct RedisFixture {
    prefix: String,
    conn: redis::aio::MultiplexedConnection,
}

impl RedisFixture {
    async fn new() -> Self {
        let client = redis::Client::open(redis_url()).unwrap();
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("Redis must be running for these tests (REDIS_URL)");
        Self {
            prefix: unique("rt-test:") + ":sess:",
            conn,
        }
    }

    async fn put(&self, sid: &str, session: serde_json::Value) {
        let mut conn = self.conn.clone();
        let _: () = conn
            .set_ex(format!("{}{sid}", self.prefix), session.to_string(), 60)
            .await
            .unwrap();
    }

    async fn put_raw(&self, sid: &str, raw: &str) {
        let mut conn = self.conn.clone();
        let _: () = conn
            .set_ex(format!("{}{sid}", self.prefix), raw, 60)
            .await
            .unwrap();
    }

    async fn delete(&self, sid: &str) {
        let mut conn = self.conn.clone();
        let _: () = conn.del(format!("{}{sid}", self.prefix)).await.unwrap();
    }

    fn env<'a>(&'a self, url: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("SESSION_BACKEND", "redis"),
            ("REDIS_URL", url),
            ("SESSION_REDIS_PREFIX", &self.prefix),
        ]
    }
}

fn session(user: serde_json::Value) -> serde_json::Value {
    json!({"cookie": {"originalMaxAge": 86400000, "expires": "2099-01-01T00:00:00.000Z", "httpOnly": true, "path": "/"}, "userId": user, "org": "acme"})
}

#[tokio::test]
async fn a_stored_session_yields_a_token_with_its_attributes() {
    let fx = RedisFixture::new().await;
    let url = redis_url();
    let mut env = fx.env(&url);
    env.extend([
        ("SESSION_ATTRIBUTES", "org=/org"),
        ("REALTIME_ROOMS", "user-{sub},org-{org}-*"),
    ]);
    let app = spawn_app_with(&env).await;
    fx.put("sid-alice", session(json!("alice"))).await;
    let (_, claims) = expect_token(app.post_token(Some(&express_cookie("sid-alice"))).await).await;
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.permissions.rooms, ["user-alice", "org-acme-*"]);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn passport_sessions_read_the_user_by_pointer() {
    let fx = RedisFixture::new().await;
    let url = redis_url();
    let mut env = fx.env(&url);
    env.push(("SESSION_SUBJECT_POINTER", "/passport/user"));
    let app = spawn_app_with(&env).await;
    fx.put(
        "sid-p",
        json!({"cookie": {"originalMaxAge": 1000}, "passport": {"user": 42}}),
    )
    .await;
    let (_, claims) = expect_token(app.post_token(Some(&express_cookie("sid-p"))).await).await;
    assert_eq!(claims.sub, "42");
    // Passport's logout removes only passport.user.
    fx.put(
        "sid-p",
        json!({"cookie": {"originalMaxAge": 1000}, "passport": {}}),
    )
    .await;
    app.expect_unauthenticated(&express_cookie("sid-p")).await;
}

#[tokio::test]
async fn missing_expired_or_forged_sessions_are_401() {
    let fx = RedisFixture::new().await;
    let url = redis_url();
    let app = spawn_app_with(&fx.env(&url)).await;
    // No such key.
    app.expect_unauthenticated(&express_cookie("sid-none"))
        .await;
    // cookie.expires in the past (connect-redis relies on the TTL alone).
    fx.put(
        "sid-old",
        json!({"cookie": {"expires": "2001-01-01T00:00:00.000Z"}, "userId": "alice"}),
    )
    .await;
    app.expect_unauthenticated(&express_cookie("sid-old")).await;
    // An expiry that is no date (a dot without digits) is not "never".
    fx.put(
        "sid-odd",
        json!({"cookie": {"expires": "2099-01-01T00:00:00.Z"}, "userId": "alice"}),
    )
    .await;
    app.expect_unauthenticated(&express_cookie("sid-odd")).await;
    // A live session, but the cookie is unsigned or signed with another secret.
    fx.put("sid-live", session(json!("alice"))).await;
    app.expect_unauthenticated("connect.sid=sid-live").await;
    let forged =
        realtime_token::session::codec::CookieSigner::new(["not-the-secret"]).sign("sid-live");
    let forged = format!(
        "connect.sid={}",
        realtime_token::session::cookies::percent_encode(&forged)
    );
    app.expect_unauthenticated(&forged).await;
    // And the good cookie works.
    expect_token(app.post_token(Some(&express_cookie("sid-live"))).await).await;
    // Destroyed session.
    fx.delete("sid-live").await;
    app.expect_unauthenticated(&express_cookie("sid-live"))
        .await;
}

#[tokio::test]
async fn unsigned_session_cookies_can_be_configured() {
    let fx = RedisFixture::new().await;
    let url = redis_url();
    let mut env = fx.env(&url);
    env.extend([
        ("SESSION_COOKIE_SIGNED", "false"),
        ("SESSION_COOKIE", "sid"),
        ("SESSION_SECRET", ""),
    ]);
    let app = spawn_app_with(&env).await;
    fx.put("raw-1", session(json!("bob"))).await;
    let (_, claims) = expect_token(app.post_token(Some("sid=raw-1")).await).await;
    assert_eq!(claims.sub, "bob");
}

#[tokio::test]
async fn garbage_in_the_store_is_503_not_a_token() {
    let fx = RedisFixture::new().await;
    let url = redis_url();
    let app = spawn_app_with(&fx.env(&url)).await;
    fx.put_raw("sid-garbage", "{not json").await;
    let res = app.post_token(Some(&express_cookie("sid-garbage"))).await;
    assert!(res.headers().get("retry-after").is_some());
    expect_error(res, 503, "session_backend_unavailable").await;
}

#[tokio::test]
async fn redis_down_gives_503_and_tokens_flow_again_when_it_returns() {
    let fx = RedisFixture::new().await;
    let proxy = FaultProxy::start("127.0.0.1:6379").await;
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let mut env = fx.env(&url);
    env.push(("SESSION_LOOKUP_TIMEOUT", "300ms"));
    let app = spawn_app_with(&env).await;
    fx.put("sid-f", session(json!("alice"))).await;
    let cookie = express_cookie("sid-f");
    expect_token(app.post_token(Some(&cookie)).await).await;

    proxy.set(ProxyMode::Down);
    for _ in 0..3 {
        let res = app.post_token(Some(&cookie)).await;
        assert_eq!(res.headers()["retry-after"], "2");
        let msg = expect_error(res, 503, "session_backend_unavailable").await;
        assert!(
            !msg.contains("6379") && !msg.contains("redis://"),
            "cause leaked: {msg}"
        );
    }
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    expect_error(ready, 503, "session_backend_unavailable").await;

    proxy.set(ProxyMode::Up);
    expect_token(eventually_status(&app, &cookie, 200).await).await;
    // Readiness answers are reused for about a second.
    app.eventually_ready().await;
}

#[tokio::test]
async fn a_hanging_redis_is_cut_off_by_the_lookup_timeout() {
    let fx = RedisFixture::new().await;
    let proxy = FaultProxy::start("127.0.0.1:6379").await;
    proxy.set(ProxyMode::Hang);
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let mut env = fx.env(&url);
    env.push(("SESSION_LOOKUP_TIMEOUT", "300ms"));
    let app = spawn_app_with(&env).await;
    fx.put("sid-h", session(json!("alice"))).await;
    let started = std::time::Instant::now();
    let res = app.post_token(Some(&express_cookie("sid-h"))).await;
    expect_error(res, 503, "session_backend_unavailable").await;
    // Functional bound only (not a benchmark): far below the client's patience.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn with_the_cache_on_a_destroyed_session_lives_until_the_ttl() {
    let fx = RedisFixture::new().await;
    let url = redis_url();
    let mut env = fx.env(&url);
    env.push(("SESSION_CACHE_TTL", "30s"));
    let app = spawn_app_with(&env).await;
    fx.put("sid-c", session(json!("alice"))).await;
    let cookie = express_cookie("sid-c");
    expect_token(app.post_token(Some(&cookie)).await).await;
    fx.delete("sid-c").await;
    // The documented trade-off: a logout takes up to SESSION_CACHE_TTL to bite.
    expect_token(app.post_token(Some(&cookie)).await).await;

    let app = spawn_app_with(&fx.env(&url)).await;
    app.expect_unauthenticated(&cookie).await;
}

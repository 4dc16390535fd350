//! One address for a whole site (behind Next.js `rewrites()` without
//! `TRUSTED_PROXIES`, every browser is the app server): requests without a
//! valid session spend the address bucket before any store lookup, valid
//! sessions their subject's, so an anonymous flood neither starves
//! logged-in users nor reaches the session store unbounded.

use serde_json::json;

use realtime_token::session::{codec::CookieSigner, cookies::percent_encode};

use crate::formats::authjs;
use crate::support::*;

/// Scaled down from "3,000 anonymous requests made a logged-in user's
/// request a 429": `RATE_LIMIT_IP=3/m`.
const ADDRESS_LIMIT: (&str, &str) = ("RATE_LIMIT_IP", "3/m");

#[tokio::test]
async fn an_anonymous_flood_does_not_starve_a_valid_session_cookie() {
    // The walkthrough's stack: Auth.js v5, cookies written by @auth/core.
    let authjs_cookie = authjs::write(
        "authjs",
        json!([{"secret": SESSION_SECRET, "token": {"sub": "alice"}}]),
    )
    .remove(0);
    let other_secret = CookieSigner::new(["another-app-secret-0123456789abcdef"]);
    for backend in ["signed-cookie", "authjs"] {
        let env = [
            ADDRESS_LIMIT,
            ("RATE_LIMIT_SUBJECT", "2/m"),
            ("SESSION_BACKEND", backend),
        ];
        let app = spawn_app_with(&env).await;
        let (alice, forged) = match backend {
            "authjs" => {
                let forged = authjs::tampered(&authjs_cookie).remove(0);
                (authjs_cookie.clone(), forged)
            }
            _ => (
                app.cookie("alice"),
                format!("session={}", percent_encode(&other_secret.sign("alice"))),
            ),
        };
        for _ in 0..3 {
            expect_error(app.post_token(None).await, 401, "unauthenticated").await;
        }
        // The address bucket is empty: anonymous callers and cookies that
        // fail their signature are refused...
        expect_error(app.post_token(None).await, 429, "rate_limited").await;
        expect_error(app.post_token(Some(&forged)).await, 429, "rate_limited").await;
        // ...but a valid session from the same address is charged to its
        // subject (2/m), not to the address.
        for _ in 0..2 {
            let (_, claims) = expect_token(app.post_token(Some(&alice)).await).await;
            assert_eq!(claims.sub, "alice", "{backend}");
        }
        expect_error(app.post_token(Some(&alice)).await, 429, "rate_limited").await;
    }
}

#[tokio::test]
async fn without_a_subject_limit_every_request_spends_the_address_bucket() {
    let app = spawn_app_with(&[("RATE_LIMIT_IP", "2/m"), ("RATE_LIMIT_SUBJECT", "off")]).await;
    for _ in 0..2 {
        expect_error(app.post_token(None).await, 401, "unauthenticated").await;
    }
    let alice = app.cookie("alice");
    expect_error(app.post_token(Some(&alice)).await, 429, "rate_limited").await;
}

/// Counts the session lookups that reached a store.
enum Lookups {
    /// A private redis-server: random session ids are never stored, so
    /// each lookup of one is a keyspace miss (the address bucket's key, if
    /// the buckets live there, exists throughout: it refills over 20 s).
    Redis(redis::aio::MultiplexedConnection),
    /// A sequence the session view's function advances once per query.
    Postgres(deadpool_postgres::tokio_postgres::Client, String),
}

impl Lookups {
    async fn count(&mut self) -> u64 {
        match self {
            Self::Redis(conn) => {
                let info: String = redis::cmd("INFO")
                    .arg("stats")
                    .query_async(conn)
                    .await
                    .unwrap();
                info.lines()
                    .find_map(|l| l.strip_prefix("keyspace_misses:"))
                    .map_or(0, |n| n.trim().parse().unwrap())
            }
            Self::Postgres(client, seq) => {
                let sql =
                    format!("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {seq}");
                let n: i64 = client.query_one(&sql, &[]).await.unwrap().get(0);
                n as u64
            }
        }
    }
}

/// The app's writes to the user's session (`touch`: rewritten as
/// express-session's `resave` does, new bytes for the same user; `logout`:
/// deleted).
struct SessionWrites<T, L> {
    touch: T,
    logout: L,
}

/// The known user's session, a flood of random (validly signed) session
/// ids, the user again, then the user logged out: what reaches the store.
async fn flood(
    app: &TestApp,
    sid: &str,
    lookups: &mut Lookups,
    writes: SessionWrites<impl AsyncFnOnce(), impl AsyncFnOnce()>,
) {
    let user = express_cookie(sid);
    // First sight of the session: one address token (of 3) and a lookup.
    expect_token(app.post_token(Some(&user)).await).await;
    let before = lookups.count().await;
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let random = express_cookie(&unique("random-"));
        statuses.push(app.post_token(Some(&random)).await.status().as_u16());
    }
    assert_eq!(statuses[..2], [401, 401], "{statuses:?}");
    assert!(statuses[2..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(
        lookups.count().await - before,
        2,
        "only the requests the address bucket let through were looked up"
    );
    expect_error(app.post_token(None).await, 429, "rate_limited").await;

    // The user, seen before, from the same address: charged to its
    // subject, also once the app has rewritten the session.
    let (_, claims) = expect_token(app.post_token(Some(&user)).await).await;
    assert_eq!(claims.sub, "bob");
    (writes.touch)().await;
    let (_, claims) = expect_token(app.post_token(Some(&user)).await).await;
    assert_eq!(claims.sub, "bob");

    // Logged out: one lookup finds no session (its subject paid for it);
    // from then on the id is anonymous again, refused before any lookup.
    (writes.logout)().await;
    let before = lookups.count().await;
    expect_error(app.post_token(Some(&user)).await, 429, "rate_limited").await;
    assert_eq!(lookups.count().await - before, 1);
    for _ in 0..5 {
        expect_error(app.post_token(Some(&user)).await, 429, "rate_limited").await;
    }
    assert_eq!(
        lookups.count().await - before,
        1,
        "no lookup once forgotten"
    );
}

#[tokio::test]
async fn a_flood_of_random_session_ids_never_reaches_redis_unbounded() {
    // Buckets in memory, then in the sessions' Redis (one script per lookup).
    for shared in [false, true] {
        let (_server, url, mut redis) = private_redis().await;
        let sid = unique("sid-");
        let key = format!("sess:{sid}");
        let session = |n: u32| json!({"cookie": {"path": "/"}, "userId": "bob", "n": n});
        let set = |n: u32| {
            redis::cmd("SET")
                .arg(&key)
                .arg(session(n).to_string())
                .clone()
        };
        let () = set(0).query_async(&mut redis).await.unwrap();
        let env = [
            ADDRESS_LIMIT,
            ("SESSION_BACKEND", "redis"),
            ("REDIS_URL", url.as_str()),
            ("RATE_LIMIT_STORE", if shared { "redis" } else { "memory" }),
        ];
        let app = spawn_app_with(&env).await;
        let (mut a, mut b) = (redis.clone(), redis.clone());
        let writes = SessionWrites {
            touch: async || set(1).query_async::<()>(&mut a).await.unwrap(),
            logout: async || {
                let del = redis::cmd("DEL").arg(&key).clone();
                del.query_async::<()>(&mut b).await.unwrap()
            },
        };
        flood(&app, &sid, &mut Lookups::Redis(redis), writes).await;
    }
}

#[tokio::test]
async fn a_flood_of_random_session_ids_never_reaches_postgres_unbounded() {
    use deadpool_postgres::tokio_postgres::{connect, NoTls};
    let table = SessionTable::create().await;
    let (view, seq) = (unique("counted_"), unique("lookups_"));
    let (client, connection) = connect(&database_url(), NoTls).await.unwrap();
    tokio::spawn(connection);
    // A set-returning function runs once per query, whatever the WHERE.
    client
        .batch_execute(&format!(
            "CREATE SEQUENCE {seq};
             CREATE FUNCTION {view}_rows() RETURNS SETOF {t} LANGUAGE plpgsql AS $$
               BEGIN PERFORM nextval('{seq}'); RETURN QUERY SELECT * FROM {t}; END $$;
             CREATE VIEW {view} AS SELECT * FROM {view}_rows();",
            t = table.name
        ))
        .await
        .unwrap();
    let sid = unique("sid-");
    let session = |n: u32| json!({"cookie": {"path": "/"}, "userId": "bob", "n": n});
    table.put(&sid, session(0), 3600).await;
    let url = database_url();
    let env = [
        ADDRESS_LIMIT,
        ("SESSION_BACKEND", "postgres"),
        ("DATABASE_URL", url.as_str()),
        ("SESSION_PG_TABLE", view.as_str()),
    ];
    let app = spawn_app_with(&env).await;
    let writes = SessionWrites {
        touch: async || table.put(&sid, session(1), 3600).await,
        logout: async || table.delete(&sid).await,
    };
    flood(
        &app,
        &sid,
        &mut Lookups::Postgres(client, seq.clone()),
        writes,
    )
    .await;
    let (client, connection) = connect(&database_url(), NoTls).await.unwrap();
    tokio::spawn(connection);
    let _ = client
        .batch_execute(&format!(
            "DROP VIEW IF EXISTS {view}; DROP FUNCTION IF EXISTS {view}_rows(); DROP SEQUENCE IF EXISTS {seq};"
        ))
        .await;
}

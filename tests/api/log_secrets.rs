//! Whatever `RUST_LOG` asks for, the log never holds a session id, a cookie or
//! a token: the real binary runs each session store at `debug`, at `trace`
//! and with dependency targets named explicitly, and its whole output is
//! scanned.

use realtime_token::session::{codec::CookieSigner, cookies::percent_encode};
use serde_json::json;

use crate::support::upstream::{Answer, Upstream};
use crate::support::*;

/// `RUST_LOG` values to try. A directive naming a module *inside* a
/// dependency (`tokio_postgres::query`) is the longest match in env_logger,
/// so it would win over a cap set on the crate's name alone.
const LEVELS: &[&str] = &[
    "debug",
    "trace",
    "info,tokio_postgres=trace,tokio_postgres::query=trace,tokio_postgres::prepare=trace,\
     deadpool=trace,deadpool.postgres=trace,redis=trace,reqwest=trace,hyper=trace,\
     hyper_util=trace,actix_http=trace,actix_web=trace,tracing=trace",
];

/// What a request carried and what it must never leave in the log.
struct Exchange {
    /// Cookie headers that must be answered 200.
    valid: Vec<String>,
    /// Cookie headers that must be answered 401.
    invalid: Vec<String>,
    /// Strings that must not appear anywhere in the log.
    secrets: Vec<String>,
}

/// An express-session cookie for `sid` and its secrets: the id, the signed
/// value (decoded and percent-encoded) and the signature alone.
fn express(sid: &str, secrets: &mut Vec<String>) -> String {
    let signed = CookieSigner::new([SESSION_SECRET]).sign(sid);
    let encoded = percent_encode(&signed);
    let signature = signed.rsplit('.').next().unwrap().to_owned();
    secrets.extend([sid.to_owned(), signed, encoded.clone(), signature]);
    format!("connect.sid={encoded}")
}

/// A forged cookie (bad signature) for `sid`, with its secrets.
fn forged(sid: &str, secrets: &mut Vec<String>) -> String {
    let value = format!("s:{sid}.forgedSignatureValue0123456789abcdefghijkl");
    let encoded = percent_encode(&value);
    secrets.extend([value, encoded.clone()]);
    format!("connect.sid={encoded}")
}

/// Runs the binary with `env` and `RUST_LOG=level`, sends the exchange's
/// requests, stops it and returns everything it logged (the issued tokens
/// are added to the secrets).
async fn logged_run(env: &[(&str, &str)], level: &str, exchange: &mut Exchange) -> String {
    let mut env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.push(("RUST_LOG".into(), level.into()));
    let server = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        ServerProcess::start(&env)
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let post = |cookie: String| {
        client
            .post(server.url("/api/realtime-token"))
            .header("Cookie", cookie)
            .send()
    };
    for cookie in exchange.valid.clone() {
        let res = post(cookie).await.unwrap();
        assert_eq!(res.status(), 200, "RUST_LOG={level}");
        let body: serde_json::Value = res.json().await.unwrap();
        let token = body["token"].as_str().expect("a token").to_owned();
        // Each part too: the payload alone names the user and the rooms.
        exchange
            .secrets
            .extend(token.split('.').map(str::to_owned).chain([token.clone()]));
    }
    for cookie in exchange.invalid.clone() {
        let res = post(cookie).await.unwrap();
        assert_eq!(res.status(), 401, "RUST_LOG={level}");
    }
    server.terminate();
    let server = tokio::task::spawn_blocking(move || {
        let mut server = server;
        assert_eq!(server.wait_exit(), Some(0), "clean exit");
        server
    })
    .await
    .unwrap();
    server.log_text()
}

/// Scans the complete log of each level for every secret (and `eyJ`).
async fn assert_no_secrets(env: &[(&str, &str)], mut exchange: Exchange) {
    exchange.secrets.push("eyJ".into());
    for level in LEVELS {
        let log = logged_run(env, level, &mut exchange).await;
        assert!(
            log.contains(" access] POST /api/realtime-token 200 "),
            "RUST_LOG={level}: no access line:\n{log}"
        );
        if !level.starts_with("info") {
            // Our own targets follow RUST_LOG: their debug lines are there.
            assert!(
                log.contains("realtime_token::error] unauthenticated ("),
                "RUST_LOG={level}: our own debug lines are missing:\n{log}"
            );
        }
        for secret in &exchange.secrets {
            if let Some(line) = log.lines().find(|l| l.contains(secret.as_str())) {
                panic!("RUST_LOG={level}: `{secret}` leaked into the log:\n{line}");
            }
        }
    }
}

#[tokio::test]
async fn postgres_logs_at_debug_and_trace_hold_no_session_id_cookie_or_token() {
    let table = SessionTable::create().await;
    let url = database_url();
    let sid = unique("pgsid-");
    table
        .put(&sid, json!({"cookie": {}, "userId": "alice"}), 3600)
        .await;
    let mut secrets = Vec::new();
    let exchange = Exchange {
        valid: vec![express(&sid, &mut secrets)],
        invalid: vec![
            express(&unique("pgsid-unknown-"), &mut secrets),
            forged(&unique("pgsid-forged-"), &mut secrets),
        ],
        secrets,
    };
    let env = [
        ("SESSION_BACKEND", "postgres"),
        ("DATABASE_URL", url.as_str()),
        ("SESSION_PG_TABLE", table.name.as_str()),
    ];
    assert_no_secrets(&env, exchange).await;
}

#[tokio::test]
async fn redis_logs_at_debug_and_trace_hold_no_session_id_cookie_or_token() {
    use redis::AsyncCommands as _;
    let url = redis_url();
    let prefix = unique("rt-logs:") + ":sess:";
    let sid = unique("redissid-");
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("Redis must be running for these tests (REDIS_URL)");
    let session = json!({"cookie": {"expires": "2099-01-01T00:00:00.000Z"}, "userId": "alice"});
    let _: () = conn
        .set_ex(format!("{prefix}{sid}"), session.to_string(), 120)
        .await
        .unwrap();
    let mut secrets = Vec::new();
    let exchange = Exchange {
        valid: vec![express(&sid, &mut secrets)],
        invalid: vec![
            express(&unique("redissid-unknown-"), &mut secrets),
            forged(&unique("redissid-forged-"), &mut secrets),
        ],
        secrets,
    };
    let env = [
        ("SESSION_BACKEND", "redis"),
        ("REDIS_URL", url.as_str()),
        ("SESSION_REDIS_PREFIX", prefix.as_str()),
    ];
    assert_no_secrets(&env, exchange).await;
}

#[tokio::test]
async fn upstream_logs_at_debug_and_trace_hold_no_cookie_or_token() {
    let valid = unique("upstream-secret-");
    let whoami = Upstream::start(Answer::ForCookie(valid.clone(), json!({"id": "alice"}))).await;
    let invalid = unique("upstream-wrong-");
    let exchange = Exchange {
        valid: vec![format!("app_session={valid}")],
        invalid: vec![format!("app_session={invalid}")],
        secrets: vec![valid, invalid],
    };
    let upstream = whoami.url();
    let env = [
        ("SESSION_BACKEND", "upstream"),
        ("SESSION_UPSTREAM_URL", upstream.as_str()),
    ];
    assert_no_secrets(&env, exchange).await;
}

#[tokio::test]
async fn es256_logs_at_debug_and_trace_hold_no_private_key() {
    let key = key_file(realtime_token::token::SigningAlgorithm::ES256);
    // Every base64 line of the private key, and the session's own secrets.
    let mut secrets: Vec<String> = std::fs::read_to_string(&key)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::to_owned)
        .collect();
    let signed = CookieSigner::new([SESSION_SECRET]).sign("alice");
    let valid = format!("session={}", percent_encode(&signed));
    secrets.extend([signed, SESSION_SECRET.to_owned()]);
    let invalid = format!(
        "session={}",
        percent_encode("s:alice.forgedSignature0123456789abcdefghijkl")
    );
    let env = signing_env(realtime_token::token::SigningAlgorithm::ES256, &key);
    let exchange = Exchange {
        valid: vec![valid],
        invalid: vec![invalid],
        secrets,
    };
    assert_no_secrets(&pairs(&env), exchange).await;
}

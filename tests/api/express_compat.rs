//! Compatibility with a real Express app (`tests/express/app.mjs`): a session
//! that express-session writes through connect-redis or connect-pg-simple
//! yields a token here for the cookie the browser got, and once the app
//! destroys it (logout) the same cookie is a 401.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use redis::AsyncCommands as _;
use serde_json::Value;

use crate::support::*;

/// The whole of one test, Node start-up included (not the one-off `npm ci`).
const TEST_TIMEOUT: Duration = Duration::from_secs(90);
/// Each HTTP request to the Express app.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Until the app prints its port.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
fn express_dir() -> std::path::PathBuf {
    node_project(
        "express",
        &[
            "express",
            "express-session",
            "connect-redis",
            "redis",
            "connect-pg-simple",
            "pg",
        ],
    )
}

/// The running Express app; killed when dropped (also when a test panics).
struct ExpressApp {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
    client: reqwest::Client,
}

impl ExpressApp {
    /// Starts `node app.mjs` with `env` and waits for its `listening <port>`.
    fn start(env: &[(&str, &str)]) -> Self {
        let mut child = Command::new("node")
            .arg("app.mjs")
            .current_dir(express_dir())
            .env("SESSION_SECRET", SESSION_SECRET)
            .envs(env.iter().copied())
            // The app exits when its stdin closes, should this process die.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node must be installed for the Express compatibility tests");

        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });

        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .strip_prefix("listening ")
                    .and_then(|p| p.trim().parse::<u16>().ok())
                {
                    let _ = tx.send(port);
                }
            }
        });

        let mut app = Self {
            child,
            base: String::new(),
            stderr,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(REQUEST_TIMEOUT)
                .build()
                .unwrap(),
        };
        match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(port) => app.base = format!("http://127.0.0.1:{port}"),
            Err(_) => {
                let exit = app.child.try_wait().ok().flatten();
                // Once it is gone its stderr closes: the reader has its last words.
                let _ = app.child.kill();
                let _ = app.child.wait();
                let _ = reader.join();
                panic!(
                    "the Express app did not start (exit: {exit:?}): {}",
                    app.stderr()
                );
            }
        }
        app
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// POST /login?user=…; returns the `connect.sid=<value>` pair exactly as
    /// a browser sends it back, and the session id the app reports.
    async fn login(&self, user: &str) -> (String, String) {
        let res = self
            .client
            .post(format!("{}/login", self.base))
            .query(&[("user", user)])
            .send()
            .await
            .unwrap_or_else(|e| panic!("login: {e}; app stderr: {}", self.stderr()));
        assert_eq!(res.status(), 200, "login; app stderr: {}", self.stderr());
        let set_cookie = res
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with("connect.sid="))
            .expect("login sets connect.sid");
        let attributes = set_cookie.to_ascii_lowercase();
        assert!(attributes.contains("; httponly"), "{set_cookie}");
        assert!(attributes.contains("; samesite=lax"), "{set_cookie}");
        // A browser sends back only `name=value`, byte for byte.
        let pair = set_cookie.split(';').next().unwrap().trim().to_owned();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["user"], user);
        let sid = body["sid"].as_str().expect("sid").to_owned();
        assert!(pair.contains(&sid), "{pair} should carry {sid}");
        (pair, sid)
    }

    /// POST /logout with the browser's cookie (the app destroys the session).
    async fn logout(&self, cookie: &str) {
        let res = self
            .client
            .post(format!("{}/logout", self.base))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap_or_else(|e| panic!("logout: {e}; app stderr: {}", self.stderr()));
        assert_eq!(res.status(), 200, "logout; app stderr: {}", self.stderr());
    }
}

impl Drop for ExpressApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the Express app off the async runtime (it blocks until the port).
async fn start_express(env: Vec<(&'static str, String)>) -> ExpressApp {
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        ExpressApp::start(&env)
    })
    .await
    .unwrap()
}

/// The service's environment on top of the store's: org attribute and rooms.
fn service_env<'a>(store: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = store.to_vec();
    env.extend([
        ("SESSION_ATTRIBUTES", "org=/org"),
        ("REALTIME_ROOMS", "user-{sub},org-{org}-*"),
    ]);
    env
}

async fn expect_alice(app: &TestApp, cookie: &str) {
    let (_, claims) = expect_token(app.post_token(Some(cookie)).await).await;
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.permissions.rooms, ["user-alice", "org-acme-*"]);
}

#[tokio::test]
async fn express_session_with_connect_redis_logs_in_and_out() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let url = redis_url();
        let prefix = unique("rt-express:") + ":sess:";
        let express = start_express(vec![
            ("STORE", "redis".into()),
            ("REDIS_URL", url.clone()),
            ("PREFIX", prefix.clone()),
        ])
        .await;
        let (cookie, sid) = express.login("alice").await;

        // connect-redis wrote `<prefix><sid>` with a TTL.
        let mut conn = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("Redis must be running for these tests (REDIS_URL)");
        let key = format!("{prefix}{sid}");
        let ttl: i64 = conn.ttl(&key).await.unwrap();
        assert!(ttl > 0, "{key} should exist with a TTL, got {ttl}");

        let app = spawn_app_with(&service_env(&[
            ("SESSION_BACKEND", "redis"),
            ("REDIS_URL", &url),
            ("SESSION_REDIS_PREFIX", &prefix),
        ]))
        .await;
        expect_alice(&app, &cookie).await;

        express.logout(&cookie).await;
        let exists: bool = conn.exists(&key).await.unwrap();
        assert!(!exists, "logout should delete {key}");
        app.expect_unauthenticated(&cookie).await;
    })
    .await
    .expect("the test finished in time");
}

#[tokio::test]
async fn express_session_with_connect_pg_simple_logs_in_and_out() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let url = database_url();
        let table = SessionTable::create().await;
        let express = start_express(vec![
            ("STORE", "pg".into()),
            ("DATABASE_URL", url.clone()),
            ("TABLE", table.name.clone()),
        ])
        .await;
        let (cookie, sid) = express.login("alice").await;
        assert_eq!(table.rows(&sid).await, 1, "connect-pg-simple wrote the row");

        let app = spawn_app_with(&service_env(&[
            ("SESSION_BACKEND", "postgres"),
            ("DATABASE_URL", &url),
            ("SESSION_PG_TABLE", &table.name),
        ]))
        .await;
        expect_alice(&app, &cookie).await;

        express.logout(&cookie).await;
        assert_eq!(table.rows(&sid).await, 0, "logout deletes the row");
        app.expect_unauthenticated(&cookie).await;
    })
    .await
    .expect("the test finished in time");
}

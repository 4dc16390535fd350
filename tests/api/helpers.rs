//! Shared test helpers: spawning the app, signing cookies, decoding tokens.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use realtime_token::session::cookies::{percent_encode, CookieSigner};
use realtime_token::{Application, Claims, Config};
use serde_json::Value;

pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef-0123456789";
pub const SESSION_SECRET: &str = "session-secret-new-0123456789abcdef";
pub const OLD_SESSION_SECRET: &str = "session-secret-old-0123456789abcdef";
pub const ADMIN_KEY: &str = "admin-key-0123456789abcdef-0123456789abcdef";
pub const ISSUER: &str = "test-app";
pub const AUDIENCE: &str = "realtime-sdk";
pub const ALLOWED_ORIGIN: &str = "http://localhost:3000";

/// The environment every test app starts from.
pub fn base_env() -> HashMap<String, String> {
    [
        ("JWT_SECRET", JWT_SECRET),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
        ("SESSION_SECRET", SESSION_SECRET),
        ("REALTIME_ROOMS", "document-*,user-{sub}"),
        ("ALLOWED_ORIGINS", ALLOWED_ORIGIN),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("WORKERS", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Reads a config from `base_env()` with `overrides` (an empty value unsets).
pub fn config_with(
    overrides: &[(&str, &str)],
) -> Result<Config, realtime_token::config::ConfigErrors> {
    let mut env = base_env();
    for (k, v) in overrides {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    Config::from_lookup(&|k| env.get(k).cloned())
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub signer: CookieSigner,
}

/// Starts the app with the base environment.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the app with `overrides` on top of the base environment.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let config = config_with(overrides).expect("valid test config");
    let app = Application::build(&config).expect("bind");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let signer = CookieSigner::new(config.session.secrets.iter().map(|s| s.expose()));
    TestApp {
        base,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        signer,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `session=<signed, percent-encoded value>` with the newest secret.
    pub fn cookie(&self, value: &str) -> String {
        format!("session={}", percent_encode(&self.signer.sign(value)))
    }

    /// POSTs with `cookie` and expects 401 `unauthenticated` (and no token).
    pub async fn expect_unauthenticated(&self, cookie: &str) {
        expect_error(self.post_token(Some(cookie)).await, 401, "unauthenticated").await;
    }

    /// POST /api/realtime-token with an optional Cookie header.
    pub async fn post_token(&self, cookie: Option<&str>) -> reqwest::Response {
        let mut req = self.client.post(self.url("/api/realtime-token"));
        if let Some(cookie) = cookie {
            req = req.header("Cookie", cookie);
        }
        req.send().await.unwrap()
    }

    /// POST with a cookie and a JSON body.
    pub async fn post_json(&self, cookie: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url("/api/realtime-token"))
            .header("Cookie", cookie)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// Expects `status` and a JSON error body with `code`; returns the message.
pub async fn expect_error(res: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(res.status().as_u16(), status, "status");
    let body: Value = res.json().await.expect("JSON error body");
    assert_eq!(body["error"], code, "error code in {body}");
    assert!(body.get("token").is_none());
    body["message"].as_str().expect("message").to_owned()
}

/// Expects 200 with a token body; returns (body, verified claims).
pub async fn expect_token(res: reqwest::Response) -> (Value, Claims) {
    assert_eq!(res.status().as_u16(), 200, "status");
    let body: Value = res.json().await.expect("JSON body");
    let claims = decode(body["token"].as_str().expect("token"));
    (body, claims)
}

/// Decodes a token independently of the service's verifier: HS256 pinned,
/// `exp`, `sub`, `iss` and `aud` required and checked.
pub fn decode(token: &str) -> Claims {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
    jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(JWT_SECRET.as_bytes()),
        &validation,
    )
    .expect("token verifies")
    .claims
}

/// The token's header as JSON.
pub fn header_json(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A directory without a `.env`, so spawned binaries read only what we pass.
pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("realtime-token-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The release-independent path of the built binary.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_realtime-token"));
    cmd.env_clear().current_dir(scratch_dir());
    cmd
}

/// Runs the binary with `base_env()` plus `extra` and `args`.
pub fn run_cli(extra: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.envs(base_env()).envs(extra.iter().copied()).args(args);
    cmd.output().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The Redis the tests use (`.ci/run` exports `REDIS_URL`).
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The PostgreSQL the tests use (`.ci/run` exports `DATABASE_URL`).
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A name no other test uses (per-test key prefixes and tables).
pub fn unique(prefix: &str) -> String {
    use rand::RngCore as _;
    format!("{prefix}{:016x}", rand::thread_rng().next_u64())
}

/// `connect.sid=<s:sid.sig, percent-encoded>` signed with the test secret.
pub fn express_cookie(sid: &str) -> String {
    let signer = CookieSigner::new([SESSION_SECRET]);
    format!("connect.sid={}", percent_encode(&signer.sign(sid)))
}

/// What [`FaultProxy`] does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Forward to the target.
    Up,
    /// Close every connection at once (the store is down).
    Down,
    /// Accept and never answer (the store hangs).
    Hang,
}

/// A TCP proxy in front of a real server, to take it "down" and back up
/// without stopping the server other tests share.
pub struct FaultProxy {
    pub port: u16,
    mode: std::sync::Arc<std::sync::Mutex<ProxyMode>>,
    live: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl FaultProxy {
    pub async fn start(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = std::sync::Arc::new(std::sync::Mutex::new(ProxyMode::Up));
        let live = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let target = target.to_owned();
        let (m, l) = (mode.clone(), live.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let mode = *m.lock().unwrap();
                let target = target.clone();
                let task = tokio::spawn(async move {
                    match mode {
                        ProxyMode::Down => drop(inbound),
                        ProxyMode::Hang => {
                            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                            drop(inbound);
                        }
                        ProxyMode::Up => {
                            if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await
                            {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                                    .await;
                            }
                        }
                    }
                });
                l.lock().unwrap().push(task.abort_handle());
            }
        });
        Self { port, mode, live }
    }

    /// Switches mode; every open connection is cut.
    pub fn set(&self, mode: ProxyMode) {
        *self.mode.lock().unwrap() = mode;
        for task in self.live.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// Sends requests every 100 ms until one answers `status`, for up to `secs`.
pub async fn eventually_status(
    app: &TestApp,
    cookie: &str,
    status: u16,
    secs: u64,
) -> reqwest::Response {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let res = app.post_token(Some(cookie)).await;
        if res.status().as_u16() == status || std::time::Instant::now() > deadline {
            return res;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The service binary running as a separate process (for logs, signals).
pub struct ServerProcess {
    pub child: std::process::Child,
    pub port: u16,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `realtime-token serve` with `base_env()` plus `extra`, and waits
    /// for its "listening on" log line.
    pub fn start(extra: &[(&str, &str)]) -> Self {
        use std::io::BufRead as _;
        let mut child = bin()
            .envs(base_env())
            .envs(extra.iter().copied())
            .arg("serve")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(port) = line
                    .split("listening on ")
                    .nth(1)
                    .and_then(|rest| rest.split([' ', '"']).next())
                    .and_then(|addr| addr.rsplit(':').next())
                    .and_then(|p| p.parse::<u16>().ok())
                {
                    let _ = tx.send(port);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let port = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("the server did not start: {:?}", log.lock().unwrap()));
        Self { child, port, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to `secs` for the process to exit; its exit code.
    pub fn wait_exit(&mut self, secs: u64) -> Option<i32> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread take the last lines.
                std::thread::sleep(std::time::Duration::from_millis(100));
                return status.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connect-pg-simple session table (its `table.sql`, index and key names
/// left to PostgreSQL so concurrent tests do not clash), dropped at the end.
pub struct SessionTable {
    pub name: String,
    client: deadpool_postgres::tokio_postgres::Client,
}

impl SessionTable {
    pub async fn create() -> Self {
        use deadpool_postgres::tokio_postgres::{connect, NoTls};
        let (client, connection) = connect(&database_url(), NoTls)
            .await
            .expect("PostgreSQL must be running for these tests (DATABASE_URL)");
        tokio::spawn(connection);
        let name = unique("session_");
        client
            .batch_execute(&format!(
                "CREATE TABLE {name} (sid varchar NOT NULL COLLATE \"default\" PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL);
                 CREATE INDEX ON {name} (expire);"
            ))
            .await
            .unwrap();
        Self { name, client }
    }

    /// Writes a session that expires in `expires_in_secs` (negative: expired).
    pub async fn put(&self, sid: &str, sess: serde_json::Value, expires_in_secs: i64) {
        self.client
            .execute(
                &format!(
                    "INSERT INTO {} (sid, sess, expire) VALUES ($1, $2::text::json, to_timestamp(extract(epoch from now()) + $3::bigint))
                     ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expire = excluded.expire",
                    self.name
                ),
                &[&sid, &sess.to_string(), &expires_in_secs],
            )
            .await
            .unwrap();
    }

    pub async fn delete(&self, sid: &str) {
        self.client
            .execute(
                &format!("DELETE FROM {} WHERE sid = $1", self.name),
                &[&sid],
            )
            .await
            .unwrap();
    }

    /// How many rows hold `sid` (0 or 1).
    pub async fn rows(&self, sid: &str) -> i64 {
        self.client
            .query_one(
                &format!("SELECT count(*) FROM {} WHERE sid = $1", self.name),
                &[&sid],
            )
            .await
            .unwrap()
            .get(0)
    }
}

impl Drop for SessionTable {
    fn drop(&mut self) {
        use deadpool_postgres::tokio_postgres::{connect, NoTls};
        let table = std::mem::take(&mut self.name);
        let url = database_url();
        // Best effort, on a separate connection and runtime; the test is over.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let drop_table = async {
                    if let Ok((c, conn)) = connect(&url, NoTls).await {
                        tokio::spawn(conn);
                        let _ = c
                            .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
                            .await;
                    }
                };
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), drop_table).await;
            });
        })
        .join()
        .ok();
    }
}

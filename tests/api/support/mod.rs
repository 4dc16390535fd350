//! Shared test helpers: spawning the app, signing cookies, decoding tokens;
//! waiting on events (`eventually`), the binary as a process (`process`),
//! the stores (`stores`), a fake "who am I" upstream (`upstream`), fake
//! Redis servers standing in for an attacker (`fake_redis`), the real
//! session libraries that write the cookies of each format (`writers`) and
//! the accept/refuse scenario the format tests share (`scenario`).

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use realtime_token::session::{codec::CookieSigner, cookies::percent_encode};
use realtime_token::{Application, Claims, Config};
use serde_json::Value;

mod cluster;
mod driver;
mod eventually;
mod fake_redis;
mod keys;
mod load;
mod node;
mod process;
mod raw;
mod scenario;
mod stores;
mod tls;
pub mod upstream;
mod writers;

pub use cluster::RedisCluster;
pub use driver::Driver;
pub use eventually::{eventually, eventually_blocking};
pub use fake_redis::{FakePrimary, FakeSentinel};
pub use keys::*;
pub use load::{Load, Row};
pub use node::node_project;
pub use process::*;
pub use raw::raw_exchange;
pub use scenario::{accept_refuse, Cases};
pub use stores::*;
pub use tls::{run, test_certificates, test_certificates_for};
pub use writers::{cookies, devise_writer, node_writer, python_writer, ruby_writer, venv};

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
    spawn_app_config(config_with(overrides).expect("valid test config")).await
}

/// Starts the app with a configuration already read.
pub async fn spawn_app_config(config: Config) -> TestApp {
    let app = Application::start(&config).await.expect("bind");
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
    /// Waits until `/readyz` answers 200 (its answer is reused for about a
    /// second, so a change shows a moment later).
    pub async fn eventually_ready(&self) {
        eventually("/readyz to answer 200", async || {
            let res = self.client.get(self.url("/readyz")).send().await.unwrap();
            res.status() == 200
        })
        .await;
    }

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

    /// The text of `GET /metrics`.
    /// The status `GET /healthz` answers (liveness).
    pub async fn healthz(&self) -> u16 {
        let res = self.client.get(self.url("/healthz")).send().await.unwrap();
        res.status().as_u16()
    }

    pub async fn metrics(&self) -> String {
        let res = self.client.get(self.url("/metrics")).send().await.unwrap();
        res.text().await.unwrap()
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
    // Every 200 carries `exp` twice: as a time and as seconds from issue.
    assert_eq!(body["expiresAt"], claims.exp, "expiresAt");
    assert_eq!(body["expiresIn"], claims.exp - claims.iat, "expiresIn");
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

/// Sends token requests with `cookie` until one answers `status`; that
/// answer.
pub async fn eventually_status(app: &TestApp, cookie: &str, status: u16) -> reqwest::Response {
    let what = format!("a token request answered {status}");
    eventually(&what, async || {
        let res = app.post_token(Some(cookie)).await;
        (res.status().as_u16() == status).then_some(res)
    })
    .await
}

/// The value of the sample `name_and_labels` (e.g. `x_total{code="a"}`) in
/// Prometheus text; 0 when absent.
pub fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name_and_labels) && l[name_and_labels.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

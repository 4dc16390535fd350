use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;

#[test]
fn mint_prints_a_token_that_verifies() {
    let out = run_cli(
        &[],
        &[
            "mint",
            "--sub",
            "alice",
            "--rooms",
            "document-1,user-alice",
            "--ttl",
            "15m",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let claims = decode(stdout(&out).trim());
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.exp - claims.iat, 900);
    assert_eq!(claims.permissions.rooms, ["document-1", "user-alice"]);
}

#[test]
fn mint_defaults_to_the_policy_and_can_print_json() {
    let out = run_cli(&[], &["mint", "--sub", "bob", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let body: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let claims = decode(body["token"].as_str().unwrap());
    assert_eq!(claims.permissions.rooms, ["document-*", "user-bob"]);
    assert_eq!(body["expiresAt"], claims.exp);
    assert_eq!(body["expiresIn"], 3600);
}

#[test]
fn mint_refuses_bad_input() {
    for args in [
        &["mint", "--sub", "alice", "--rooms", "do*c"][..],
        &["mint", "--sub", "alice", "--ttl", "forever"][..],
        &["mint", "--sub", ""][..],
    ] {
        let out = run_cli(&[], args);
        assert!(!out.status.success(), "{args:?}");
        assert!(stdout(&out).is_empty(), "no token printed for {args:?}");
    }
    let out = run_cli(
        &[("JWT_SECRET", "short")],
        &["mint", "--sub", "alice", "--rooms", "a"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("JWT_SECRET"));
}

#[test]
fn verify_prints_claims_or_a_reason() {
    let token = stdout(&run_cli(
        &[],
        &["mint", "--sub", "alice", "--rooms", "document-1"],
    ))
    .trim()
    .to_owned();
    let out = run_cli(&[], &["verify", &token]);
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["permissions"]["rooms"][0], "document-1");

    let tampered = format!("{}x", &token[..token.len() - 1]);
    let out = run_cli(&[], &["verify", &tampered]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("invalid token"), "{}", stderr(&out));

    let other = "another-secret-0123456789abcdef-0123456789";
    let out = run_cli(&[("JWT_SECRET", other)], &["verify", &token]);
    assert!(stderr(&out).contains("signature does not match"));

    let out = run_cli(&[("JWT_AUDIENCE", "someone-else")], &["verify", &token]);
    assert!(stderr(&out).contains("audience"));

    let out = run_cli(&[], &["verify", "not-a-token"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("malformed"));
}

#[test]
fn check_config_redacts_secrets_and_fails_on_errors() {
    let out = run_cli(&[("ADMIN_API_KEY", ADMIN_KEY)], &["check-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("jwt issuer: test-app"), "{text}");
    assert!(text.contains("self-check"), "{text}");
    for secret in [JWT_SECRET, SESSION_SECRET, ADMIN_KEY] {
        assert!(!text.contains(secret), "secret leaked");
    }

    let out = run_cli(&[("SESSION_SECRET", JWT_SECRET)], &["check-config"]);
    assert!(stdout(&out).contains("warning: SESSION_SECRET equals the JWT secret"));

    let out = run_cli(&[("TOKEN_TTL", "soon")], &["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("TOKEN_TTL"));
}

/// `check-config`'s output with `extra`, once it passed and printed none of
/// `secrets` (nor the test's own).
fn check_config(extra: &[(&str, &str)], secrets: &[&str]) -> String {
    let out = run_cli(extra, &["check-config"]);
    assert!(out.status.success(), "{extra:?}: {}", stderr(&out));
    let text = stdout(&out);
    for secret in secrets.iter().chain(&[JWT_SECRET, SESSION_SECRET]) {
        assert!(
            !text.contains(secret),
            "{extra:?}: a secret is printed: {text}"
        );
    }
    text
}

fn has(text: &str, line: &str) -> bool {
    text.lines().any(|l| l.starts_with(line))
}

#[test]
fn check_config_shows_non_secret_backend_options_and_the_database() {
    let url = "postgres://app:pg-password-0123@db.internal:5433/appdb?sslmode=disable";
    let db = check_config(
        &[("SESSION_BACKEND", "django"), ("DATABASE_URL", url)],
        &["pg-password-0123", "app:"],
    );
    for line in [
        "session backend: django: postgres at postgres://db.internal:5433/appdb (table django_session",
        "session options: SESSION_DJANGO_ENGINE=db",
        "session cookie: sessionid (unsigned session id)",
    ] {
        assert!(has(&db, line), "{line}: {db}");
    }
    // A stored session expires in its row: SESSION_MAX_AGE does not apply.
    assert!(!db.contains("max age"), "{db}");

    let signed = check_config(
        &[
            ("SESSION_BACKEND", "django"),
            ("SESSION_DJANGO_ENGINE", "signed_cookies"),
        ],
        &[],
    );
    for line in [
        "session options: SESSION_DJANGO_ENGINE=signed_cookies",
        "session max age: 1209600 s",
        "session cookie: sessionid (signed)",
        "session secrets: [redacted, 1]",
    ] {
        assert!(has(&signed, line), "{line}: {signed}");
    }
    // Cookie formats look nothing up: no lookup timeout, no cache.
    assert!(!signed.contains("session cache") && !signed.contains("lookup timeout"));

    let hmac_key = "jwt-cookie-hmac-key-0123456789abcdef";
    let jwt = check_config(
        &[
            ("SESSION_BACKEND", "jwt-cookie"),
            ("SESSION_COOKIE", "__session"),
            ("SESSION_JWT_ALGORITHMS", "HS256"),
            ("SESSION_JWT_KEY", hmac_key),
            ("SESSION_JWT_ISSUER", "https://issuer.example.com"),
        ],
        &[hmac_key],
    );
    let options = "session options: SESSION_JWT_ALGORITHMS=HS256, SESSION_JWT_ISSUER=https://issuer.example.com, SESSION_JWT_KEY [set, redacted]";
    assert!(has(&jwt, options), "{jwt}");
    assert!(has(
        &jwt,
        "session cookie: __session (a JWT signed by its issuer's key)"
    ));
    // SESSION_SECRET is not used by jwt-cookie, so it is not listed.
    assert!(!jwt.contains("session secrets"), "{jwt}");

    let jwks = check_config(
        &[
            ("SESSION_BACKEND", "jwt-cookie"),
            ("SESSION_COOKIE", "__session"),
            ("SESSION_JWT_ALGORITHMS", "RS256"),
            (
                "SESSION_JWKS_URL",
                "https://user:jwks-password@clerk.example.com/.well-known/jwks.json?key=query-secret",
            ),
        ],
        &["jwks-password", "query-secret", "user:"],
    );
    let url = "SESSION_JWKS_URL=https://clerk.example.com:443/.well-known/jwks.json";
    assert!(jwks.contains(url), "{jwks}");
    assert!(has(&jwks, "session lookup timeout: "), "{jwks}");

    let redis = check_config(
        &[
            ("SESSION_BACKEND", "redis"),
            ("REDIS_URL", "redis://:redis-password-0123@127.0.0.1:6379/3"),
        ],
        &["redis-password-0123"],
    );
    assert!(
        has(
            &redis,
            "session backend: redis: redis at redis://127.0.0.1:6379/3 "
        ),
        "{redis}"
    );
    assert!(has(
        &redis,
        "session cookie: connect.sid (signed session id)"
    ));

    let rails = check_config(
        &[
            ("SESSION_BACKEND", "rails"),
            ("SESSION_COOKIE", "_app_session"),
            ("SESSION_RAILS_KEY_DIGEST", "sha1"),
        ],
        &[],
    );
    assert!(
        has(&rails, "session options: SESSION_RAILS_KEY_DIGEST=sha1"),
        "{rails}"
    );
}

#[test]
fn check_config_says_encrypted_and_which_variable_held_the_secret() {
    let name = [("SESSION_COOKIE", "app-session")];
    for backend in ["authjs", "next-auth", "iron-session", "rails"] {
        let text = check_config(&[("SESSION_BACKEND", backend), name[0]], &[]);
        assert!(
            has(&text, "session cookie: app-session (encrypted)"),
            "{backend}: {text}"
        );
    }
    let text = check_config(&[("SESSION_BACKEND", "cookie-session")], &[]);
    assert!(has(&text, "session cookie: session (signed)"), "{text}");

    // Auth.js's own AUTH_SECRET supplies the secret when SESSION_SECRET is unset.
    let auth_secret = "auth-js-secret-0123456789abcdef-0123";
    let text = check_config(
        &[
            ("SESSION_BACKEND", "authjs"),
            ("SESSION_SECRET", ""),
            ("AUTH_SECRET", auth_secret),
        ],
        &[auth_secret],
    );
    assert!(
        has(&text, "session secrets: [redacted, 1] (from AUTH_SECRET)"),
        "{text}"
    );
    let text = check_config(&[("SESSION_BACKEND", "authjs")], &[]);
    assert!(has(&text, "session secrets: [redacted, 1]") && !text.contains("(from "));
    // And its warnings name the variable that held it.
    let text = check_config(
        &[
            ("SESSION_BACKEND", "authjs"),
            ("SESSION_SECRET", ""),
            ("AUTH_SECRET", "short auth secret"),
        ],
        &["short auth secret"],
    );
    assert!(
        has(
            &text,
            "warning: AUTH_SECRET: secret 1 must be at least 32 bytes"
        ),
        "{text}"
    );
}

/// A running `realtime-token dev`: its curl line, its "listening on" log
/// line, and everything it logged so far.
struct Dev {
    child: std::process::Child,
    curl: String,
    listening: String,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

/// Starts `realtime-token dev` (with `args`, in `dir`) on a free port.
fn start_dev_in(dir: &std::path::Path, args: &[&str]) -> Dev {
    let mut child = bin()
        .arg("dev")
        .args(args)
        .current_dir(dir)
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let wait_for = |stream: Box<dyn std::io::Read + Send>, marker: &'static str| {
        let (tx, rx) = std::sync::mpsc::channel();
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if line.contains(marker) {
                    let _ = tx.send(line.trim().to_owned());
                }
                log.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        rx
    };
    let curl = wait_for(Box::new(child.stdout.take().unwrap()), "curl ");
    let listening = wait_for(Box::new(child.stderr.take().unwrap()), "listening on ");
    Dev {
        curl: curl
            .recv_timeout(Duration::from_secs(20))
            .expect("dev mode prints a curl command"),
        listening: listening
            .recv_timeout(Duration::from_secs(20))
            .expect("dev mode logs where it listens"),
        child,
        log,
    }
}

#[test]
fn dev_mode_binds_loopback_whatever_dotenv_says() {
    // Getting started's `cp .env.example .env`, which sets HOST=0.0.0.0.
    let dir = scratch_dir().join(unique("dev-dotenv-"));
    std::fs::create_dir_all(&dir).unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example");
    std::fs::copy(example, dir.join(".env")).unwrap();
    let mut dev = start_dev_in(&dir, &[]);
    dev.child.kill().unwrap();
    dev.child.wait().unwrap();
    assert!(
        dev.listening.contains("listening on 127.0.0.1:"),
        "{}",
        dev.listening
    );
    assert!(dev.curl.contains("http://127.0.0.1:"), "{}", dev.curl);

    // An explicit --host is the only way out, and it is logged.
    let mut dev = start_dev_in(&dir, &["--host", "0.0.0.0"]);
    dev.child.kill().unwrap();
    dev.child.wait().unwrap();
    assert!(
        dev.listening.contains("listening on 0.0.0.0:"),
        "{}",
        dev.listening
    );
    assert!(dev.log.lock().unwrap().contains("--host"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn dev_mode_prints_a_curl_command_that_returns_a_token() {
    let Dev {
        mut child,
        curl: line,
        log,
        ..
    } = start_dev_in(&scratch_dir(), &[]);
    // curl -sS -X POST http://127.0.0.1:PORT/api/realtime-token -H 'Cookie: session=...'
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    let cookie = line
        .split("'Cookie: ")
        .nth(1)
        .unwrap()
        .trim_end_matches('\'')
        .to_owned();
    let res = reqwest::Client::new()
        .post(&url)
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap();
    // SIGTERM: a graceful stop also flushes the log.
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(status, 200, "{body}");
    assert!(body["token"].as_str().unwrap().starts_with("eyJ"));
    assert_eq!(
        body["rooms"],
        serde_json::json!(["document-*", "user-dev-user"])
    );
    // The reader threads take the last lines once the pipes close.
    let log = log_with(&log, "stopped");
    assert!(log.contains("DEV MODE"), "{log}");
    assert!(
        !log.contains(body["token"].as_str().unwrap()),
        "token in the log"
    );
}

#[tokio::test]
async fn healthcheck_probes_the_local_server() {
    let app = spawn_app().await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let ok = tokio::task::spawn_blocking(move || run_cli(&[], &["healthcheck", "--port", &port]))
        .await
        .unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port().to_string();
    drop(closed);
    let down = run_cli(&[], &["healthcheck", "--port", &port]);
    assert!(!down.status.success());
}

#[tokio::test]
async fn healthcheck_reads_port_and_host_from_dotenv_like_serve() {
    let app = spawn_app().await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let dir = scratch_dir().join(unique("health-dotenv-"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".env"), format!("HOST=127.0.0.1\nPORT={port}\n")).unwrap();
    let run = {
        let dir = dir.clone();
        move || bin().arg("healthcheck").current_dir(&dir).output().unwrap()
    };
    let ok = tokio::task::spawn_blocking(run.clone()).await.unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
    // A host nothing listens on is not healthy.
    std::fs::write(dir.join(".env"), format!("HOST=127.0.0.2\nPORT={port}\n")).unwrap();
    let down = tokio::task::spawn_blocking(run).await.unwrap();
    assert!(!down.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Waits until `log` holds `marker`; the log so far.
fn log_with(log: &std::sync::Mutex<String>, marker: &str) -> String {
    eventually_blocking(&format!("\"{marker}\" in the log"), || {
        let text = log.lock().unwrap().clone();
        text.contains(marker).then_some(text)
    })
}

#[tokio::test]
async fn dev_mode_says_which_signing_mode_is_active() {
    let mut dev = start_dev_in(&scratch_dir(), &[]);
    let log = log_with(&dev.log, "Tokens are signed");
    dev.child.kill().unwrap();
    dev.child.wait().unwrap();
    assert!(log.contains("Tokens are signed with HS256"), "{log}");

    // EdDSA from a `.env`: no JWT secret is invented, the JWKS is served.
    let dir = scratch_dir().join(unique("dev-eddsa-"));
    std::fs::create_dir_all(&dir).unwrap();
    let key = key_file(realtime_token::token::SigningAlgorithm::EdDSA);
    std::fs::write(
        dir.join(".env"),
        format!("JWT_ALGORITHM=EdDSA\nJWT_PRIVATE_KEY_FILE={key}\n"),
    )
    .unwrap();
    let mut dev = start_dev_in(&dir, &[]);
    // Two pipes, two reader threads: wait for the line of each.
    log_with(&dev.log, "token signing: ");
    let log = log_with(&dev.log, "Tokens are signed");
    let jwks_url = log
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.ends_with("/.well-known/jwks.json"))
        .map(str::to_owned);
    let jwks = match &jwks_url {
        Some(url) => Some(reqwest::get(url).await.unwrap().status()),
        None => None,
    };
    dev.child.kill().unwrap();
    dev.child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        log.contains(
            "Tokens are signed with EdDSA; verifiers read the public keys at http://127.0.0.1:"
        ),
        "{log}"
    );
    assert_eq!(jwks, Some(reqwest::StatusCode::OK), "{log}");
    assert!(
        log.contains("token signing: EdDSA with the private key in"),
        "{log}"
    );
    assert!(!log.contains("JWT secret is random"), "{log}");
}

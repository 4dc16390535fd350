//! `realtime-token dev`: loopback only, a curl command that works, the
//! signing mode it runs with.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;

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

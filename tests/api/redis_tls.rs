//! Redis over TLS (`rediss://`): a private `redis-server` that speaks only
//! TLS, with a certificate for `localhost` from a test CA made by openssl.
//! Tokens flow with the CA trusted (`REDIS_CA_FILE`); an untrusted
//! certificate, a hostname mismatch or plaintext give a 503 and no token.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::support::*;

/// A private TLS-only redis-server; killed when dropped.
struct TlsRedis {
    child: Child,
    port: u16,
    ca: PathBuf,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis_cli(redis: &TlsRedis, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["--tls", "--cacert"])
        .arg(&redis.ca)
        .args(["-h", "localhost", "-p", &redis.port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn start_tls_redis() -> TlsRedis {
    let dir = scratch_dir().join(unique("redis-tls-"));
    std::fs::create_dir_all(&dir).unwrap();
    test_certificates(&dir);
    let port = free_port();
    let child = Command::new("redis-server")
        .args(["--port", "0", "--tls-port", &port.to_string()])
        .args([
            "--tls-cert-file",
            "server.pem",
            "--tls-key-file",
            "server.key",
        ])
        .args(["--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "no"])
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(&dir)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed for the TLS tests");
    let redis = TlsRedis {
        child,
        port,
        ca: dir.join("ca.pem"),
    };
    eventually_blocking("the TLS redis-server to answer", || {
        redis_cli(&redis, &["ping"]) == "PONG"
    });
    redis
}

#[tokio::test]
async fn tokens_flow_over_verified_tls_and_never_over_an_untrusted_or_mismatched_one() {
    let redis = tokio::task::spawn_blocking(start_tls_redis).await.unwrap();
    let sid = unique("tls-sid-");
    let doc = r#"{"cookie":{"path":"/"},"userId":"tls-user"}"#;
    assert_eq!(
        redis_cli(&redis, &["set", &format!("sess:{sid}"), doc, "EX", "600"]),
        "OK"
    );
    let cookie = express_cookie(&sid);
    let ca = redis.ca.to_str().unwrap().to_owned();
    let app = |url: String, ca: Option<&str>| {
        let mut env = vec![
            ("SESSION_BACKEND".to_owned(), "redis".to_owned()),
            ("REDIS_URL".to_owned(), url),
            ("SESSION_LOOKUP_TIMEOUT".to_owned(), "1s".to_owned()),
        ];
        if let Some(ca) = ca {
            env.push(("REDIS_CA_FILE".to_owned(), ca.to_owned()));
        }
        env
    };
    let port = redis.port;
    let cases = [
        (app(format!("rediss://localhost:{port}"), Some(&ca)), 200),
        // The system's roots do not know the test CA.
        (app(format!("rediss://localhost:{port}"), None), 503),
        // The certificate names localhost, not 127.0.0.1.
        (app(format!("rediss://127.0.0.1:{port}"), Some(&ca)), 503),
        // Plaintext to a TLS-only port.
        (app(format!("redis://localhost:{port}"), None), 503),
        // The loudly logged development opt-out.
        (
            app(format!("rediss://localhost:{port}/#insecure"), None),
            200,
        ),
    ];
    for (env, want) in cases {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let app = spawn_app_with(&env).await;
        let res = app.post_token(Some(&cookie)).await;
        if want == 200 {
            let (_, claims) = expect_token(res).await;
            assert_eq!(claims.sub, "tls-user", "{env:?}");
        } else {
            expect_error(res, 503, "session_backend_unavailable").await;
        }
    }
    let insecure = config_with(&[
        ("SESSION_BACKEND", "redis"),
        ("REDIS_URL", &format!("rediss://localhost:{port}/#insecure")),
    ])
    .unwrap();
    assert!(insecure
        .warnings()
        .join("\n")
        .contains("verification is OFF"));
}

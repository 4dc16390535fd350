//! Redis Sentinel with TLS data nodes: a TLS-only primary and a sentinel
//! that reaches it over TLS (`tls-replication yes`), certificates from a
//! test CA made by openssl. `REDIS_URL=rediss://…` speaks TLS to the
//! primary the sentinel names, verified against `REDIS_CA_FILE` and the
//! URL's host, never the address the sentinel gives (a fake sentinel
//! naming a fake primary); another CA or name gives no token (503) and
//! the service keeps serving.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::*;

const MASTER: &str = "rttls";

fn redis_server(dir: &Path, args: &[&str]) -> KillOnDrop {
    KillOnDrop(
        Command::new("redis-server")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed"),
    )
}

fn cli(dir: &Path, port: u16, tls: bool, args: &[&str]) -> String {
    let mut cmd = Command::new("redis-cli");
    if tls {
        cmd.args(["--tls", "--cacert"]).arg(dir.join("ca.pem"));
    }
    let out = cmd
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn tokens_flow_from_a_tls_primary_whose_certificate_names_the_redis_url_host() {
    let dir = scratch_dir().join(unique("sentinel-tls-"));
    std::fs::create_dir_all(&dir).unwrap();
    // Not the address the sentinel names (127.0.0.1): the URL's host only.
    test_certificates_for(&dir, "DNS:redis-primary.test");
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    test_certificates(&other);
    let (p1, s1) = (free_port(), free_port());
    let tls = [
        "--tls-cert-file",
        "server.pem",
        "--tls-key-file",
        "server.key",
        "--tls-ca-cert-file",
        "ca.pem",
        "--tls-auth-clients",
        "no",
    ];
    let p1s = p1.to_string();
    let _primary = redis_server(
        &dir,
        &[
            &["--port", "0", "--tls-port", &p1s][..],
            &tls,
            &["--save", "", "--appendonly", "no", "--dir", "."],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("sentinel.conf"),
        format!(
            "port {s1}\ntls-cert-file server.pem\ntls-key-file server.key\n\
             tls-ca-cert-file ca.pem\ntls-replication yes\n\
             sentinel monitor {MASTER} 127.0.0.1 {p1} 1\n"
        ),
    )
    .unwrap();
    let _sentinel = redis_server(&dir, &["sentinel.conf", "--sentinel"]);
    let sid = unique("sentinel-tls-sid-");
    let doc = r#"{"cookie":{"path":"/"},"userId":"sentinel-tls-user"}"#;
    let seed = {
        let (dir, key) = (dir.clone(), format!("sess:{sid}"));
        move || {
            eventually_blocking("the TLS primary to start", || {
                cli(&dir, p1, true, &["ping"]) == "PONG"
            });
            assert_eq!(cli(&dir, p1, true, &["set", &key, doc]), "OK");
            // The sentinel has reached the primary over TLS.
            eventually_blocking("the sentinel to reach the primary", || {
                let master = cli(&dir, s1, false, &["sentinel", "master", MASTER]);
                master.contains("role-reported\nmaster") && !master.contains("s_down")
            });
        }
    };
    tokio::task::spawn_blocking(seed).await.unwrap();

    let sentinels = format!("127.0.0.1:{s1}");
    let cookie = express_cookie(&sid);
    let app = |ca: &Path, url: &str| {
        let (ca, url, sentinels) = (
            ca.join("ca.pem").to_str().unwrap().to_owned(),
            url.to_owned(),
            sentinels.clone(),
        );
        async move {
            spawn_app_with(&[
                ("SESSION_BACKEND", "redis"),
                ("REDIS_SENTINELS", &sentinels),
                ("REDIS_SENTINEL_MASTER", MASTER),
                ("REDIS_URL", &url),
                ("REDIS_CA_FILE", &ca),
                ("SESSION_LOOKUP_TIMEOUT", "1s"),
            ])
            .await
        }
    };
    let trusted = app(&dir, "rediss://redis-primary.test").await;
    let (_, claims) = expect_token(trusted.post_token(Some(&cookie)).await).await;
    assert_eq!(claims.sub, "sentinel-tls-user");

    for (ca, url) in [
        (&other, "rediss://redis-primary.test"),
        (&dir, "rediss://primary"),
    ] {
        let untrusted = app(ca, url).await;
        for _ in 0..2 {
            expect_error(
                untrusted.post_token(Some(&cookie)).await,
                503,
                "session_backend_unavailable",
            )
            .await;
        }
        assert_eq!(untrusted.healthz().await, 200);
    }

    // Plaintext to the TLS-only primary: no token either.
    let plain = spawn_app_with(&[
        ("SESSION_BACKEND", "redis"),
        ("REDIS_SENTINELS", &sentinels),
        ("REDIS_SENTINEL_MASTER", MASTER),
        ("SESSION_LOOKUP_TIMEOUT", "1s"),
    ])
    .await;
    expect_error(
        plain.post_token(Some(&cookie)).await,
        503,
        "session_backend_unavailable",
    )
    .await;

    let insecure = app(&other, "rediss://primary/#insecure").await;
    expect_token(insecure.post_token(Some(&cookie)).await).await;
}

/// The attack of issue 18: whoever answers for a plaintext sentinel names
/// their own TLS server, with a certificate the CA signed for its own
/// address (127.0.0.1) but not for the `REDIS_URL` host. It must get no
/// password and mint no token, through the sessions nor the shared limits.
#[tokio::test]
async fn a_sentinel_cannot_name_a_primary_whose_certificate_lacks_the_redis_url_host() {
    let dir = scratch_dir().join(unique("sentinel-forged-"));
    std::fs::create_dir_all(&dir).unwrap();
    test_certificates_for(&dir, "IP:127.0.0.1");
    let forged = r#"{"cookie":{"path":"/"},"userId":"forged-admin"}"#;
    let primary = FakePrimary::start(&dir, forged);
    let sentinel = FakeSentinel::start(MASTER, "127.0.0.1", primary.port);
    let sentinels = format!("127.0.0.1:{}", sentinel.port);
    let ca = dir.join("ca.pem").to_str().unwrap().to_owned();
    let named = format!("127.0.0.1:{}", primary.port);
    let sid = unique("forged-sid-");
    // The sessions, then the shared limits (asked first; no cookie: a 401).
    let cases = [
        (
            "SESSION_BACKEND",
            Some(express_cookie(&sid)),
            (503, "session_backend_unavailable"),
            "session backend unavailable",
        ),
        (
            "RATE_LIMIT_STORE",
            None,
            (401, "unauthenticated"),
            "shared rate limits unavailable",
        ),
    ];
    for (var, cookie, (status, code), warning) in cases {
        let env = [
            (var, "redis"),
            ("REDIS_SENTINELS", &sentinels),
            ("REDIS_SENTINEL_MASTER", MASTER),
            ("REDIS_URL", "rediss://:forged-PASSWORD-42@primary/0"),
            ("REDIS_CA_FILE", &ca),
        ]
        .map(|(k, v)| (k, v.to_owned()));
        let server = tokio::task::spawn_blocking(move || {
            ServerProcess::start(&env.each_ref().map(|(k, v)| (*k, v.as_str())))
        })
        .await
        .unwrap();
        let mut req = reqwest::Client::new().post(server.url("/api/realtime-token"));
        if let Some(cookie) = cookie {
            req = req.header("Cookie", cookie);
        }
        expect_error(req.send().await.unwrap(), status, code).await;
        // A warning names the address the sentinel gave and the name its
        // certificate lacks.
        let (log, named) = (server.log.clone(), named.clone());
        tokio::task::spawn_blocking(move || {
            eventually_blocking("a log line naming the certificate mismatch", || {
                log.lock()
                    .unwrap()
                    .iter()
                    .any(|l| l.contains(warning) && l.contains(&named) && l.contains("`primary`"))
            });
        })
        .await
        .unwrap();
        let log = server.log_text();
        assert!(!log.contains("PASSWORD"), "the password was logged: {log}");
    }
    assert!(
        primary.connections() >= 2,
        "the named primary was not tried"
    );
    assert_eq!(
        primary.commands(),
        Vec::<String>::new(),
        "sent to the named primary"
    );
}

//! Redis Sentinel with TLS data nodes: a TLS-only primary and a sentinel
//! that reaches it over TLS (`tls-replication yes`), certificates from a
//! test CA made by openssl. `REDIS_URL=rediss://…` speaks TLS to the
//! primary the sentinel names, verified against `REDIS_CA_FILE`; another
//! CA gives no token (503) and the service keeps serving.

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
async fn tokens_flow_from_a_tls_primary_named_by_the_sentinel_with_its_ca_only() {
    let dir = scratch_dir().join(unique("sentinel-tls-"));
    std::fs::create_dir_all(&dir).unwrap();
    test_certificates_for(&dir, "DNS:localhost,IP:127.0.0.1");
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
            wait_until(10, "the TLS primary did not start", || {
                cli(&dir, p1, true, &["ping"]) == "PONG"
            });
            assert_eq!(cli(&dir, p1, true, &["set", &key, doc]), "OK");
            // The sentinel has reached the primary over TLS.
            wait_until(10, "the sentinel did not reach the primary", || {
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
    let trusted = app(&dir, "rediss://primary").await;
    let (_, claims) = expect_token(trusted.post_token(Some(&cookie)).await).await;
    assert_eq!(claims.sub, "sentinel-tls-user");

    let untrusted = app(&other, "rediss://primary").await;
    for _ in 0..2 {
        expect_error(
            untrusted.post_token(Some(&cookie)).await,
            503,
            "session_backend_unavailable",
        )
        .await;
    }
    assert_eq!(untrusted.healthz().await, 200);

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

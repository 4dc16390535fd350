//! The command line: `mint`, `verify`, `healthcheck`; `check-config` and
//! `dev` in their own modules.

use crate::support::*;

mod check_config;
mod dev;

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

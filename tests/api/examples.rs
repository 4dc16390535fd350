//! `examples/`: the compiled examples run as documented. `scripts/test`
//! (the README's test command) builds them (`cargo build --examples`) next
//! to this binary's own directory.

use std::process::Command;

use crate::support::*;

/// The example binary `name`, built in the same profile as this test.
fn example(name: &str) -> Command {
    let deps = std::env::current_exe().unwrap();
    let path = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --examples` (scripts/test does)",
        path.display()
    );
    let mut cmd = Command::new(path);
    cmd.env_clear().current_dir(scratch_dir());
    cmd
}

#[tokio::test]
async fn the_custom_authenticator_reads_cookies_as_the_service_does() {
    let mut cmd = example("custom_authenticator");
    cmd.envs(base_env()).env("REALTIME_ROOMS", "team-{team}-*");
    let server = ServerProcess::spawn(cmd);
    let client = reqwest::Client::new();
    let post = |cookies: &[&[u8]]| {
        let mut req = client.post(server.url("/api/realtime-token"));
        for cookie in cookies {
            req = req.header(
                "Cookie",
                reqwest::header::HeaderValue::from_bytes(cookie).unwrap(),
            );
        }
        req.send()
    };
    // The service's cookie rules: the first well-formed cookie of a name
    // wins, across `Cookie` headers, and neither a malformed pair nor a
    // header that is not UTF-8 hides it (`HttpRequest::cookie` gives up on
    // every cookie when one header is not UTF-8).
    let cases: [&[&[u8]]; 4] = [
        &[b"sid=abc123"],
        &[b"junk; =x; sid=abc123; sid=other"],
        &[b"theme=caf\xe9", b"sid=abc123"],
        &[b"other=1", b"sid=abc123"],
    ];
    for cookies in cases {
        let (_, claims) = expect_token(post(cookies).await.unwrap()).await;
        assert_eq!(claims.sub, "alice", "{cookies:?}");
        assert_eq!(claims.permissions.rooms, ["team-blue-*"], "{cookies:?}");
    }
    for cookies in [&[&b"sid=nope"[..]][..], &[b"sid=other; sid=abc123"]] {
        expect_error(post(cookies).await.unwrap(), 401, "unauthenticated").await;
    }
}

//! Redis Sentinel (`REDIS_SENTINELS`, `REDIS_SENTINEL_MASTER`): a private
//! primary, replica and sentinel on free ports; the primary is killed under
//! load. Every answer is a 200 or a 503 (never a 401, never a token from
//! nowhere), and tokens flow again once the sentinel has promoted the
//! replica, without a restart; the shared rate limits follow the primary.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use crate::support::*;

const MASTER: &str = "rtmaster";

fn redis_server(args: &[&str]) -> KillOnDrop {
    KillOnDrop(
        Command::new("redis-server")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed"),
    )
}

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_is_a_burst_of_503s_then_tokens_flow_from_the_new_primary() {
    let (p1, p2, s1) = (free_port(), free_port(), free_port());
    let dir = scratch_dir().join(unique("sentinel-"));
    std::fs::create_dir_all(&dir).unwrap();
    // Replication writes an RDB file even with --save "": keep it in scratch.
    let dir_arg = dir.to_str().unwrap().to_owned();
    let no_disk = [
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir_arg.as_str(),
    ];
    let (p1s, p2s) = (p1.to_string(), p2.to_string());
    let primary = redis_server(&[&["--port", &p1s][..], &no_disk].concat());
    let _replica = redis_server(
        &[
            &["--port", &p2s, "--replicaof", "127.0.0.1", &p1s][..],
            &no_disk,
        ]
        .concat(),
    );
    let conf = dir.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {s1}\nsentinel monitor {MASTER} 127.0.0.1 {p1} 1\n\
             sentinel down-after-milliseconds {MASTER} 300\nsentinel failover-timeout {MASTER} 2000\n"
        ),
    )
    .unwrap();
    let _sentinel = redis_server(&[conf.to_str().unwrap(), "--sentinel"]);
    let sid = unique("sentinel-sid-");
    let doc = r#"{"cookie":{"path":"/"},"userId":"ha-user"}"#;
    let sid = tokio::task::spawn_blocking(move || {
        eventually_blocking("the replica to sync", || {
            cli(p2, &["info", "replication"]).contains("master_link_status:up")
        });
        eventually_blocking("the sentinel to see the replica", || {
            cli(s1, &["sentinel", "replicas", MASTER]).contains(&p2.to_string())
        });
        assert_eq!(cli(p1, &["set", &format!("sess:{sid}"), doc]), "OK");
        eventually_blocking("the session to reach the replica", || {
            cli(p2, &["get", &format!("sess:{sid}")]).contains("ha-user")
        });
        sid
    })
    .await
    .unwrap();

    let sentinels = format!("127.0.0.1:{s1}");
    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "redis"),
        ("REDIS_SENTINELS", &sentinels),
        ("REDIS_SENTINEL_MASTER", MASTER),
        ("SESSION_LOOKUP_TIMEOUT", "500ms"),
        ("RATE_LIMIT_STORE", "redis"),
        ("RATE_LIMIT_IP", "off"),
        ("RATE_LIMIT_SUBJECT", "100000/s"),
    ])
    .await;
    let cookie = express_cookie(&sid);
    let mut answers: BTreeMap<u16, usize> = BTreeMap::new();
    for _ in 0..50 {
        let status = app.post_token(Some(&cookie)).await.status().as_u16();
        *answers.entry(status).or_default() += 1;
        assert_eq!(status, 200, "before the failover");
    }
    drop(primary);
    // Under load until the promoted replica serves 50 tokens: a burst of
    // requests between two looks, so the failover happens while asked.
    let mut after = 0;
    eventually("the promoted replica to serve 50 tokens", async || {
        for _ in 0..10 {
            let status = app.post_token(Some(&cookie)).await.status().as_u16();
            *answers.entry(status).or_default() += 1;
            if status == 200 && is_primary(p2).await {
                after += 1;
            }
        }
        after >= 50
    })
    .await;
    eprintln!("sentinel failover: answers by status {answers:?}");
    assert!(
        answers.keys().all(|s| *s == 200 || *s == 503),
        "only 200 or 503 during a failover: {answers:?}"
    );
}

async fn is_primary(port: u16) -> bool {
    tokio::task::spawn_blocking(move || cli(port, &["role"]).starts_with("master"))
        .await
        .unwrap()
}

//! Redis Cluster (`REDIS_CLUSTER`): three private nodes on free ports made
//! a cluster with `redis-cli --cluster create`; sessions spread over the
//! nodes are read through the cluster, and the shared rate limits live
//! there too.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

fn cli(args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(args)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Three cluster-enabled redis-servers, joined; their ports.
fn start_cluster() -> (Vec<KillOnDrop>, Vec<u16>) {
    let dir = scratch_dir().join(unique("cluster-"));
    std::fs::create_dir_all(&dir).unwrap();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let nodes = ports
        .iter()
        .map(|port| {
            let conf = dir.join(format!("nodes-{port}.conf"));
            KillOnDrop(
                Command::new("redis-server")
                    .args(["--port", &port.to_string(), "--cluster-enabled", "yes"])
                    .arg("--cluster-config-file")
                    .arg(&conf)
                    .args(["--save", "", "--appendonly", "no", "--dir"])
                    .arg(&dir)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("redis-server must be installed"),
            )
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    for port in &ports {
        while cli(&["-p", &port.to_string(), "ping"]) != "PONG" {
            assert!(Instant::now() < deadline, "node {port} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let mut create = vec!["--cluster", "create"];
    create.extend(addrs.iter().map(String::as_str));
    create.extend(["--cluster-replicas", "0", "--cluster-yes"]);
    cli(&create);
    for port in &ports {
        while !cli(&["-p", &port.to_string(), "cluster", "info"]).contains("cluster_state:ok") {
            assert!(Instant::now() < deadline, "the cluster did not form");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    (nodes, ports)
}

#[tokio::test]
async fn sessions_on_every_node_are_read_through_the_cluster() {
    let (_nodes, ports) = tokio::task::spawn_blocking(start_cluster).await.unwrap();
    let doc = |user: &str| format!(r#"{{"cookie":{{"path":"/"}},"userId":"{user}"}}"#);
    // Enough sessions that every node holds some.
    let sids: Vec<String> = (0..12).map(|i| unique(&format!("cluster-{i}-"))).collect();
    let port = ports[0].to_string();
    let mut owners = std::collections::BTreeSet::new();
    for sid in &sids {
        let key = format!("sess:{sid}");
        assert_eq!(cli(&["-c", "-p", &port, "set", &key, &doc(sid)]), "OK");
        let slot: u16 = cli(&["-p", &port, "cluster", "keyslot", &key])
            .parse()
            .unwrap();
        owners.insert(slot / 5462);
    }
    assert!(owners.len() > 1, "the sessions landed on one node only");

    let nodes = ports
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "redis"),
        ("REDIS_CLUSTER", &nodes),
        ("RATE_LIMIT_STORE", "redis"),
        ("RATE_LIMIT_SUBJECT", "1/m"),
        ("RATE_LIMIT_IP", "off"),
    ])
    .await;
    for sid in &sids {
        let (_, claims) = expect_token(app.post_token(Some(&express_cookie(sid))).await).await;
        assert_eq!(&claims.sub, sid);
        // The shared bucket (1/m) lives in the cluster too.
        expect_error(
            app.post_token(Some(&express_cookie(sid))).await,
            429,
            "rate_limited",
        )
        .await;
    }
    app.expect_unauthenticated(&express_cookie("no-such-session"))
        .await;
}

//! Redis Cluster (`REDIS_CLUSTER`): private nodes on free ports made a
//! cluster with `redis-cli --cluster create` (`support::cluster`). Sessions
//! spread over three masters are read through the cluster, and the shared
//! rate limits live there too; a master is failed over under load
//! (`failover`); the nodes speak TLS only (`tls`).

use crate::support::*;

mod failover;
mod tls;

#[tokio::test]
async fn sessions_on_every_node_are_read_through_the_cluster() {
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::start(3, 0, false, 15000))
        .await
        .unwrap();
    let ports = &cluster.ports;
    let doc = |user: &str| format!(r#"{{"cookie":{{"path":"/"}},"userId":"{user}"}}"#);
    // Enough sessions that every node holds some.
    let sids: Vec<String> = (0..12).map(|i| unique(&format!("cluster-{i}-"))).collect();
    let port = ports[0];
    let mut owners = std::collections::BTreeSet::new();
    for sid in &sids {
        let key = format!("sess:{sid}");
        assert_eq!(cluster.cli(port, &["-c", "set", &key, &doc(sid)]), "OK");
        owners.insert(cluster.owner(&key));
    }
    assert!(owners.len() > 1, "the sessions landed on one node only");

    let nodes = cluster.nodes_var("127.0.0.1");
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

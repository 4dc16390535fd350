//! A failover inside the cluster: three masters with a replica each; the
//! master serving the session's slot is killed while clients ask for
//! tokens concurrently. Every answer is a 200 or a 503 (never a 401, never
//! another status), and tokens flow from the promoted replica without a
//! restart.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::support::*;

/// Concurrent clients.
const CLIENTS: usize = 4;
/// Tokens asked for after the promotion before the test ends.
const TOKENS_AFTER: usize = 50;

/// One answer: when its request was sent, when it was answered, its status.
type Answer = (Instant, Instant, u16);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_is_a_burst_of_503s_then_tokens_flow_from_its_promoted_replica() {
    let sid = unique("cluster-ha-");
    let key = format!("sess:{sid}");
    let doc = r#"{"cookie":{"path":"/"},"userId":"cluster-ha-user"}"#;
    let (mut cluster, master, replica) = tokio::task::spawn_blocking(move || {
        // A short node timeout: the replica takes over about 2 s after the kill.
        let cluster = RedisCluster::start(3, 1, false, 1000);
        let master = cluster.owner(&key);
        let replica = cluster.replica_of(master);
        assert_eq!(cluster.cli(master, &["set", &key, doc]), "OK");
        // The session must be on the replica before its master dies.
        eventually_blocking("the session to reach the replica", || {
            cluster
                .cli_stdin(replica, &[], &format!("READONLY\nGET {key}\n"))
                .contains("cluster-ha-user")
        });
        (cluster, master, replica)
    })
    .await
    .unwrap();

    let nodes = cluster.nodes_var("127.0.0.1");
    let app = Arc::new(
        spawn_app_with(&[
            ("SESSION_BACKEND", "redis"),
            ("REDIS_CLUSTER", &nodes),
            ("SESSION_LOOKUP_TIMEOUT", "500ms"),
            ("RATE_LIMIT_STORE", "redis"),
            ("RATE_LIMIT_IP", "off"),
            ("RATE_LIMIT_SUBJECT", "100000/s"),
        ])
        .await,
    );
    let cookie = express_cookie(&sid);
    let answers: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (app, cookie, answers, stop) =
                (app.clone(), cookie.clone(), answers.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let status = app.post_token(Some(&cookie)).await.status().as_u16();
                    answers.lock().unwrap().push((sent, Instant::now(), status));
                }
            })
        })
        .collect();
    let tokens_sent_after = |since: Instant| {
        answers
            .lock()
            .unwrap()
            .iter()
            .filter(|(sent, _, status)| *sent >= since && *status == 200)
            .count()
    };
    let start = Instant::now();
    eventually("tokens before the kill", async || {
        tokens_sent_after(start) >= TOKENS_AFTER
    })
    .await;

    let killed = Instant::now();
    cluster.kill(master);
    let cluster = Arc::new(cluster);
    let promoted = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || {
            eventually_blocking("the replica's promotion", || {
                cluster.cli(replica, &["role"]).starts_with("master")
            });
            Instant::now()
        })
        .await
        .unwrap()
    };
    eventually("tokens to flow again after the promotion", async || {
        tokens_sent_after(promoted) >= TOKENS_AFTER
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }

    let answers = answers.lock().unwrap();
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for (_, _, status) in answers.iter() {
        *by_status.entry(*status).or_default() += 1;
    }
    let first_token_after = answers
        .iter()
        .filter(|(sent, _, status)| *sent >= killed && *status == 200)
        .map(|(_, answered, _)| *answered)
        .min()
        .unwrap();
    let slowest_503 = answers
        .iter()
        .filter(|(_, _, status)| *status == 503)
        .map(|(sent, answered, _)| *answered - *sent)
        .max();
    eprintln!(
        "cluster failover: {} requests from {CLIENTS} clients, answers by status {by_status:?}; \
         kill to promotion seen {:?}, kill to first token {:?}, slowest 503 {slowest_503:?}",
        answers.len(),
        promoted - killed,
        first_token_after - killed,
    );
    assert!(
        answers
            .iter()
            .filter(|(_, answered, _)| *answered < killed)
            .all(|(_, _, status)| *status == 200),
        "only tokens before the kill: {by_status:?}"
    );
    assert!(
        by_status.keys().all(|s| *s == 200 || *s == 503),
        "only 200 or 503 during a failover: {by_status:?}"
    );
}

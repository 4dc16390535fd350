//! TLS to a Redis Cluster: three masters that speak TLS only (also on the
//! cluster bus), with certificates from a test CA made by openssl.
//! `REDIS_URL=rediss://…` turns TLS on for every node, verified against
//! `REDIS_CA_FILE` (sessions and the shared rate limits); an untrusted CA
//! gives no token (503) and the service keeps serving.

use crate::support::*;

#[tokio::test]
async fn tokens_flow_from_a_tls_cluster_with_its_ca_and_never_with_an_untrusted_one() {
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::start(3, 0, true, 15000))
        .await
        .unwrap();
    let ca = cluster.ca.clone().unwrap();
    // Another CA, same subject: the nodes' certificates do not chain to it.
    let other = scratch_dir().join(unique("cluster-other-ca-"));
    std::fs::create_dir_all(&other).unwrap();
    test_certificates(&other);
    let doc = |user: &str| format!(r#"{{"cookie":{{"path":"/"}},"userId":"{user}"}}"#);
    // A session on every master, so every node's certificate is verified.
    let mut sids: Vec<String> = Vec::new();
    let mut owners = std::collections::BTreeSet::new();
    while owners.len() < 3 {
        assert!(sids.len() < 100, "the sessions avoid a master");
        let sid = unique(&format!("cluster-tls-{}-", sids.len()));
        let key = format!("sess:{sid}");
        assert_eq!(
            cluster.cli(cluster.ports[0], &["-c", "set", &key, &doc(&sid)]),
            "OK"
        );
        owners.insert(cluster.owner(&key));
        sids.push(sid);
    }
    // One seed node: the others are found through the cluster (and their
    // certificates checked too).
    let seed = format!("127.0.0.1:{}", cluster.ports[0]);
    let env = |url: &'static str, ca: &std::path::Path| {
        [
            ("SESSION_BACKEND", "redis".to_owned()),
            ("REDIS_CLUSTER", seed.clone()),
            ("REDIS_URL", url.to_owned()),
            ("REDIS_CA_FILE", ca.to_str().unwrap().to_owned()),
            ("SESSION_LOOKUP_TIMEOUT", "1s".to_owned()),
            ("RATE_LIMIT_STORE", "redis".to_owned()),
            ("RATE_LIMIT_IP", "off".to_owned()),
            // A slow rate, so each subject's bucket key lives minutes, not
            // the 1 s of 60/m: the check below reads it after the requests.
            ("RATE_LIMIT_SUBJECT", "10/h".to_owned()),
        ]
    };
    let spawn = |env: [(&'static str, String); 8]| async move {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        spawn_app_with(&env).await
    };

    let app = spawn(env("rediss://cluster", &ca)).await;
    for sid in &sids {
        let (_, claims) = expect_token(app.post_token(Some(&express_cookie(sid))).await).await;
        assert_eq!(&claims.sub, sid);
    }
    app.expect_unauthenticated(&express_cookie("no-such-session"))
        .await;
    // The shared rate limits went over TLS too (a bucket per subject). A
    // check that waits longer than the shared store's 250 ms (the first TLS
    // handshake with a node, on a loaded machine) falls back to this
    // replica's own bucket, as designed: ask again until the node has it
    // (at most 8 more, so the subject stays under its 10/h).
    for sid in &sids {
        let bucket = format!("rt:rl:sub:{sid}");
        let mut tries = 0;
        while cluster.cli(cluster.ports[0], &["-c", "exists", &bucket]) != "1" {
            tries += 1;
            assert!(
                tries <= 8,
                "no shared bucket for {sid} after {tries} requests"
            );
            expect_token(app.post_token(Some(&express_cookie(sid))).await).await;
        }
    }

    let untrusted = spawn(env("rediss://cluster", &other.join("ca.pem"))).await;
    for sid in &sids {
        expect_error(
            untrusted.post_token(Some(&express_cookie(sid))).await,
            503,
            "session_backend_unavailable",
        )
        .await;
    }
    // Still serving: liveness answers, and so does the trusted app.
    assert_eq!(untrusted.healthz().await, 200);
    expect_token(app.post_token(Some(&express_cookie(&sids[0]))).await).await;

    // The development opt-out: no verification, even with the wrong CA.
    let insecure = spawn(env("rediss://cluster/#insecure", &other.join("ca.pem"))).await;
    expect_token(insecure.post_token(Some(&express_cookie(&sids[0]))).await).await;
}

#[test]
fn tls_to_a_cluster_is_asked_for_in_redis_url_not_in_the_node_list() {
    let cluster = [
        ("SESSION_BACKEND", "redis"),
        ("REDIS_CLUSTER", "10.0.0.5:6379,10.0.0.6:6379"),
    ];
    let errors = config_with(&[
        cluster[0],
        ("REDIS_CLUSTER", "rediss://:pw-secret@10.0.0.5:6379"),
    ])
    .expect_err("a URL in REDIS_CLUSTER");
    let msg = errors.to_string();
    assert!(errors.mentions("REDIS_CLUSTER"), "{msg}");
    assert!(
        msg.contains("REDIS_URL") && !msg.contains("pw-secret"),
        "{msg}"
    );
    // A CA without rediss:// would be ignored: refused, saying how.
    let ca = scratch_dir().join(unique("cluster-ca-"));
    std::fs::create_dir_all(&ca).unwrap();
    test_certificates(&ca);
    let ca = ca.join("ca.pem");
    let ca = ca.to_str().unwrap();
    let errors = config_with(&[cluster[0], cluster[1], ("REDIS_CA_FILE", ca)])
        .expect_err("a CA without rediss://");
    assert!(errors.mentions("REDIS_CA_FILE"), "{errors}");
    assert!(
        errors.to_string().contains("REDIS_URL=rediss://"),
        "{errors}"
    );
    let tls = config_with(&[
        cluster[0],
        cluster[1],
        ("REDIS_CA_FILE", ca),
        ("REDIS_URL", "rediss://:pw@cluster"),
    ])
    .unwrap();
    assert!(tls.warnings().is_empty(), "{:?}", tls.warnings());
    let insecure = config_with(&[
        cluster[0],
        cluster[1],
        ("REDIS_URL", "rediss://cluster/#insecure"),
    ])
    .unwrap();
    assert!(insecure
        .warnings()
        .join("\n")
        .contains("verification is OFF"));
}

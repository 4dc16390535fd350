//! A rolling restart behind a real load balancer loses no request: two
//! replicas behind HAProxy (health checks on `/readyz`), each restarted in
//! turn with SIGTERM under constant load. The drain (`SHUTDOWN_GRACE`) is
//! what makes this work: `/readyz` turns 503, HAProxy takes the replica
//! out, and only then does it stop accepting.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use realtime_token::session::{codec::CookieSigner, cookies::percent_encode};

use crate::support::*;

/// HAProxy in front of `ports`; killed when dropped.
fn haproxy(listen: u16, ports: [u16; 2]) -> KillOnDrop {
    let config = format!(
        "global\n  maxconn 512\n\
         defaults\n  mode http\n  timeout connect 1s\n  timeout client 10s\n  timeout server 10s\n  \
         timeout check 2s\n  option http-server-close\n  retries 3\n  option redispatch\n\
         frontend fe\n  bind 127.0.0.1:{listen}\n  default_backend be\n\
         backend be\n  option httpchk GET /readyz\n  http-check expect status 200\n  \
         default-server inter 100ms fall 1 rise 2\n  \
         server a 127.0.0.1:{} check\n  server b 127.0.0.1:{} check\n",
        ports[0], ports[1]
    );
    let path = scratch_dir().join(unique("haproxy-")).with_extension("cfg");
    std::fs::write(&path, config).unwrap();
    let child = Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("haproxy must be installed (scripts/test installs it)");
    KillOnDrop(child)
}

fn replica(port: u16) -> ServerProcess {
    ServerProcess::start(&[
        ("PORT", &port.to_string()),
        ("SHUTDOWN_GRACE", "3s"),
        ("RATE_LIMIT_IP", "off"),
        ("RATE_LIMIT_SUBJECT", "off"),
    ])
}

/// Asks `url` until its status and body satisfy `done`.
async fn until(client: &reqwest::Client, url: &str, done: fn(u16, &str) -> bool) {
    eventually(&format!("{url} to get there"), async || {
        let Ok(res) = client.get(url).send().await else {
            return false;
        };
        let status = res.status().as_u16();
        done(status, &res.text().await.unwrap_or_default())
    })
    .await;
}

/// Waits until `url` answers 200.
async fn until_200(client: &reqwest::Client, url: &str) {
    until(client, url, |status, _| status == 200).await;
}

/// Waits until the replica on `port` has issued a token (only the load,
/// through HAProxy, asks it for one).
async fn until_served_through_the_balancer(client: &reqwest::Client, port: u16) {
    let url = format!("http://127.0.0.1:{port}/metrics");
    until(client, &url, |_, body| {
        metric(body, "realtime_token_tokens_issued_total") > 0.0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_behind_haproxy_loses_no_request() {
    let ports = [free_port(), free_port()];
    let lb_port = free_port();
    let mut replicas = tokio::task::spawn_blocking(move || ports.map(|p| Some(replica(p))))
        .await
        .unwrap();
    let _lb = haproxy(lb_port, ports);
    let lb = format!("http://127.0.0.1:{lb_port}");
    let client = reqwest::Client::new();
    until_200(&client, &format!("{lb}/healthz")).await;

    let cookie = format!(
        "session={}",
        percent_encode(&CookieSigner::new([SESSION_SECRET]).sign("rolling"))
    );
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let answers: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let mut load = Vec::new();
    for _ in 0..4 {
        let (stop, sent, answers) = (stop.clone(), sent.clone(), answers.clone());
        let (url, cookie, client) = (
            format!("{lb}/api/realtime-token"),
            cookie.clone(),
            client.clone(),
        );
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                sent.fetch_add(1, Ordering::Relaxed);
                let answer = match client.post(&url).header("Cookie", &cookie).send().await {
                    Ok(res) => res.status().as_u16().to_string(),
                    Err(e) => format!("error: {e}"),
                };
                *answers.lock().unwrap().entry(answer).or_default() += 1;
            }
        }));
    }
    let wait_for_more = |n: usize| {
        let sent = sent.clone();
        async move {
            let target = sent.load(Ordering::Relaxed) + n;
            eventually(&format!("{n} more requests"), async || {
                sent.load(Ordering::Relaxed) >= target
            })
            .await;
        }
    };
    wait_for_more(200).await;
    for (i, port) in ports.into_iter().enumerate() {
        let mut old = replicas[i].take().unwrap();
        old.terminate();
        // The old process must be gone before its port is taken again.
        let (code, new) = tokio::task::spawn_blocking(move || (old.wait_exit(), replica(port)))
            .await
            .unwrap();
        assert_eq!(code, Some(0), "replica {i} exits 0 after draining");
        replicas[i] = Some(new);
        until_200(&client, &format!("http://127.0.0.1:{port}/readyz")).await;
        // HAProxy must route to the new replica (`rise 2`) before the other
        // one goes: else both are out at once and HAProxy itself says 503.
        until_served_through_the_balancer(&client, port).await;
        wait_for_more(200).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    let answers = answers.lock().unwrap().clone();
    let total: usize = answers.values().sum();
    eprintln!("rolling restart: {total} requests, answers {answers:?}");
    assert_eq!(
        answers.get("200").copied(),
        Some(total),
        "every request got a token: {answers:?}"
    );
}

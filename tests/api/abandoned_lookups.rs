//! A client that disconnects while its session lookup is pending must not
//! leave the lookup (its forwarded cookies, its upstream connection) behind.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::*;

/// An upstream that accepts connections and never answers; it counts the
/// connections accepted and those still open.
struct HangingUpstream {
    port: u16,
    accepted: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
}

impl HangingUpstream {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (accepted, open) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (a, o) = (accepted.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                o.fetch_add(1, Ordering::SeqCst);
                let o = o.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while matches!(conn.read(&mut buf).await, Ok(n) if n > 0) {}
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self {
            port,
            accepted,
            open,
        }
    }
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

async fn cache_entries(server: &ServerProcess) -> i64 {
    let text = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("realtime_token_session_cache_entries "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no cache gauge in /metrics:\n{text}"))
}

#[tokio::test]
async fn abandoned_lookups_finish_and_free_their_slots_and_connections() {
    let upstream = HangingUpstream::start().await;
    let url = format!("http://127.0.0.1:{}/api/me", upstream.port);
    let server = ServerProcess::start(&[
        ("SESSION_BACKEND", "upstream"),
        ("SESSION_UPSTREAM_URL", &url),
        ("SESSION_LOOKUP_TIMEOUT", "2s"),
        ("SESSION_CACHE_TTL", "2s"),
        ("SESSION_CACHE_SIZE", "20"),
        ("RATE_LIMIT_IP", "off"),
    ]);
    let pid = server.child.id();
    let baseline = open_fds(pid);

    // Sixty clients with distinct, padded cookies send a request each.
    let padding = "x".repeat(8 * 1024);
    let mut clients = Vec::new();
    for i in 0..60 {
        let mut c = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .unwrap();
        let request = format!(
            "POST /api/realtime-token HTTP/1.1\r\nHost: t\r\nCookie: sid=client-{i}; pad={padding}\r\nContent-Length: 0\r\n\r\n"
        );
        c.write_all(request.as_bytes()).await.unwrap();
        // Closing aborts the connection (RST), as a client that gives up does.
        c.set_zero_linger().unwrap();
        clients.push(c);
    }
    eventually("all 60 lookups to reach the upstream", async || {
        upstream.accepted.load(Ordering::SeqCst) >= 60
    })
    .await;
    // Lookups in flight count toward SESSION_CACHE_SIZE.
    let entries = cache_entries(&server).await;
    assert!((1..=20).contains(&entries), "{entries} cache entries");

    // Every client goes away while its lookup is pending.
    drop(clients);

    // Within the lookup timeout each lookup ends: its upstream connection
    // closes, its slot is gone, the descriptors come back.
    let dropped = Instant::now();
    eventually("every upstream connection to close", async || {
        upstream.open.load(Ordering::SeqCst) == 0
    })
    .await;
    // Ended by the 2 s lookup timeout, not by whatever came much later.
    let ended = dropped.elapsed();
    assert!(
        ended < Duration::from_secs(8),
        "lookups ended after {ended:?}"
    );
    eventually("the cache entries to go", async || {
        cache_entries(&server).await == 0
    })
    .await;
    eventually(
        &format!("the descriptors to come back to {baseline} (+2)"),
        async || open_fds(pid) <= baseline + 2,
    )
    .await;
}

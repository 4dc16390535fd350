//! [`RedisConnections`]: one multiplexed, self-reconnecting Redis
//! connection per worker thread (so a command never hops to another
//! thread's runtime), over TCP or TLS (`rediss://`), for the session store
//! and the shared rate limits.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Where and how to connect; connections are made lazily, per thread.
pub struct RedisConnections {
    id: usize,
    client: redis::Client,
    config: ConnectionManagerConfig,
}

thread_local! {
    // This thread's connection for each RedisConnections (by id).
    static CONNECTIONS: RefCell<Vec<(usize, ConnectionManager)>> = const { RefCell::new(Vec::new()) };
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

impl RedisConnections {
    /// Checks `url` (named `var` in errors). A `rediss://` URL speaks TLS
    /// (rustls) and verifies the server against `ca_pem` when given, else
    /// the system's roots; `#insecure` at its end skips verification.
    /// Commands time out after `timeout`.
    pub fn new(
        var: &str,
        url: &str,
        ca_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let client = match ca_pem {
            None => redis::Client::open(url),
            Some(pem) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.to_vec()),
                },
            ),
        }
        .map_err(|e| format!("{var}: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // Retry briefly: callers are bounded by their own timeout, and a
            // quick retry lets requests flow again soon after Redis returns.
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        Ok(Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            client,
            config,
        })
    }

    /// This thread's connection (created lazily, within its Tokio runtime).
    pub fn connection(&self) -> Result<ConnectionManager, String> {
        CONNECTIONS.with(|conns| {
            let mut conns = conns.borrow_mut();
            if let Some((_, conn)) = conns.iter().find(|(id, _)| *id == self.id) {
                return Ok(conn.clone());
            }
            let conn =
                ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
                    .map_err(|e| format!("redis: {e}"))?;
            conns.push((self.id, conn.clone()));
            Ok(conn)
        })
    }
}

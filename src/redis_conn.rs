//! [`RedisConnections`]: one multiplexed, self-reconnecting Redis
//! connection per worker thread (so a command never hops to another
//! thread's runtime), over TCP or TLS (`rediss://`), to one server, to the
//! primary that Redis Sentinel names, or to a Redis Cluster (TLS to every
//! node); for the session store and the shared rate limits.

mod sentinel;

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use sha2::{Digest as _, Sha256};

use sentinel::SentinelGroup;

/// Where the server is.
enum Source {
    /// One URL.
    Direct(Box<redis::Client>),
    /// The current primary of a Sentinel-watched group, asked for when a
    /// thread connects and again after a command fails (a failover).
    Sentinel(Box<SentinelGroup>),
    /// A Redis Cluster: commands go to the node that owns their key.
    Cluster(Box<ClusterClient>),
}

/// A connection to one server or to a cluster.
#[derive(Clone)]
pub enum Conn {
    /// One server, reconnecting by itself.
    Single(ConnectionManager),
    /// The primary a Sentinel named; replaced, not reconnected, after a
    /// failed command (see [`RedisConnections::failed`]).
    Primary(MultiplexedConnection),
    /// A Redis Cluster.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Primary(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Primary(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Primary(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// How the Redis servers are arranged (`REDIS_SENTINELS`,
/// `REDIS_CLUSTER`); the URL brings the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Topology {
    /// One server, at the URL.
    #[default]
    Single,
    /// The primary of the group `master` that these sentinels (`host:port`)
    /// watch; the URL brings the password, database and TLS, and its host
    /// is the name a primary's certificate must carry over TLS.
    Sentinel {
        /// `REDIS_SENTINELS`.
        nodes: Vec<String>,
        /// `REDIS_SENTINEL_MASTER`.
        master: String,
    },
    /// A Redis Cluster reached through these nodes (`host:port`); the URL
    /// only brings the user name and password.
    Cluster {
        /// `REDIS_CLUSTER`.
        nodes: Vec<String>,
    },
}

/// Where and how to connect; connections are made lazily, per thread.
pub struct RedisConnections {
    id: usize,
    /// A digest of the URL, CA and topology of one server or Sentinel
    /// group (none for a cluster), to tell when two users share a server.
    target: Option<[u8; 32]>,
    source: Source,
    config: ConnectionManagerConfig,
    timeout: Duration,
}

thread_local! {
    // This thread's connection for each RedisConnections (by id).
    static CONNECTIONS: RefCell<Vec<(usize, Conn)>> = const { RefCell::new(Vec::new()) };
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
        let client = client(var, url, ca_pem)?;
        Ok(Self::with_source(Source::Direct(Box::new(client)), timeout))
    }

    /// Connections for `topology` and `url` (named `var` in errors); see
    /// [`RedisConnections::new`], [`RedisConnections::sentinel`] and
    /// [`RedisConnections::cluster`].
    pub fn for_topology(
        var: &str,
        url: &str,
        ca_pem: Option<&[u8]>,
        topology: &Topology,
        timeout: Duration,
    ) -> Result<Self, String> {
        let mut connections = match topology {
            Topology::Single => Self::new(var, url, ca_pem, timeout),
            Topology::Sentinel { nodes, master } => {
                Self::sentinel(nodes, master, url, ca_pem, timeout)
            }
            Topology::Cluster { nodes } => Self::cluster(nodes, Some(url), ca_pem, timeout),
        }?;
        if !matches!(topology, Topology::Cluster { .. }) {
            let topology = format!("{topology:?}");
            let parts: [&[u8]; 3] = [
                url.as_bytes(),
                ca_pem.unwrap_or_default(),
                topology.as_bytes(),
            ];
            let mut digest = Sha256::new();
            for part in parts {
                digest.update((part.len() as u64).to_le_bytes());
                digest.update(part);
            }
            connections.target = Some(digest.finalize().into());
        }
        Ok(connections)
    }

    /// Which server (or Sentinel group) these connections reach, as a
    /// digest: equal for equal settings. `None` for a cluster, whose keys
    /// live on several servers.
    pub fn target(&self) -> Option<&[u8; 32]> {
        self.target.as_ref()
    }

    /// The primary of `master` as the `sentinels` (`host:port`, asked in
    /// plaintext) name it; `url` brings the password and database for the
    /// data nodes, and TLS to them: with `rediss://` the primary's
    /// certificate must name the URL's host (whatever address the
    /// sentinels give), verified against `ca_pem` when given, else the
    /// system's roots; `#insecure` at its end skips verification.
    pub fn sentinel(
        sentinels: &[String],
        master: &str,
        url: &str,
        ca_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let primary = client("REDIS_URL", url, ca_pem)?
            .get_connection_info()
            .clone();
        let group = SentinelGroup::new(sentinels, master, primary, timeout)?;
        Ok(Self::with_source(
            Source::Sentinel(Box::new(group)),
            timeout,
        ))
    }

    /// A Redis Cluster reached through any of `nodes` (`host:port`);
    /// `auth_url`, when given, brings the user name and password, and TLS:
    /// a `rediss://` URL speaks it to every node (also to those the cluster
    /// names later), verified against `ca_pem` when given, else the
    /// system's roots; `#insecure` at its end skips verification.
    pub fn cluster(
        nodes: &[String],
        auth_url: Option<&str>,
        ca_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let (scheme, userinfo, insecure) = match auth_url {
            Some(url) => {
                let url = reqwest::Url::parse(url).map_err(|e| format!("REDIS_URL: {e}"))?;
                let userinfo = match (url.username(), url.password()) {
                    ("", None) => String::new(),
                    (user, Some(pass)) => format!("{user}:{pass}@"),
                    (user, None) => format!("{user}@"),
                };
                let tls = url.scheme() == "rediss";
                (
                    if tls { "rediss" } else { "redis" },
                    userinfo,
                    tls && url.fragment() == Some("insecure"),
                )
            }
            None => ("redis", String::new(), false),
        };
        let fragment = if insecure { "/#insecure" } else { "" };
        let urls: Vec<String> = nodes
            .iter()
            .map(|n| format!("{scheme}://{userinfo}{n}{fragment}"))
            .collect();
        let mut builder = ClusterClient::builder(urls)
            .connection_timeout(timeout)
            .response_timeout(timeout)
            // As for one server: the crate's default waits at least 1.28 s
            // between retries (on CLUSTERDOWN while a replica takes over),
            // past any lookup timeout, so every request then took the whole
            // timeout to fail.
            .retries(2)
            .min_retry_wait(20)
            .max_retry_wait(200);
        if let (Some(pem), "rediss", false) = (ca_pem, scheme, insecure) {
            builder = builder.certs(redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.to_vec()),
            });
        }
        let client = builder.build().map_err(|e| format!("REDIS_CLUSTER: {e}"))?;
        Ok(Self::with_source(
            Source::Cluster(Box::new(client)),
            timeout,
        ))
    }

    fn with_source(source: Source, timeout: Duration) -> Self {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // Retry briefly: callers are bounded by their own timeout, and a
            // quick retry lets requests flow again soon after Redis returns.
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            target: None,
            source,
            config,
            timeout,
        }
    }

    /// This thread's connection, made on first use within its runtime
    /// (asking the sentinels for the primary first, when there are some).
    pub async fn connection(&self) -> Result<Conn, String> {
        let cached = CONNECTIONS.with(|c| {
            c.borrow()
                .iter()
                .find(|(id, _)| *id == self.id)
                .map(|(_, conn)| conn.clone())
        });
        if let Some(conn) = cached {
            return Ok(conn);
        }
        let client = match &self.source {
            Source::Direct(client) => (**client).clone(),
            Source::Sentinel(group) => {
                let conn = tokio::time::timeout(self.timeout, group.connect())
                    .await
                    .map_err(|_| {
                        "redis sentinel: no primary named and reached in time".to_owned()
                    })??;
                return Ok(self.keep(Conn::Primary(conn)));
            }
            Source::Cluster(cluster) => {
                let conn = tokio::time::timeout(self.timeout, cluster.get_async_connection())
                    .await
                    .map_err(|_| "redis cluster: no node answered in time".to_owned())?
                    .map_err(|e| format!("redis cluster: {e}"))?;
                return Ok(self.keep(Conn::Cluster(conn)));
            }
        };
        let conn = ConnectionManager::new_lazy_with_config(client, self.config.clone())
            .map_err(|e| format!("redis: {e}"))?;
        Ok(self.keep(Conn::Single(conn)))
    }

    /// Keeps `conn` as this thread's connection.
    fn keep(&self, conn: Conn) -> Conn {
        CONNECTIONS.with(|c| {
            let mut conns = c.borrow_mut();
            conns.retain(|(id, _)| *id != self.id);
            conns.push((self.id, conn.clone()));
        });
        conn
    }

    /// After a failed command: with Sentinel, forget this thread's
    /// connection so the next command asks for the primary again (after a
    /// failover the old one is gone or read-only); with Cluster, so the
    /// next command starts from a fresh slot map (the cluster client also
    /// learns the promoted replica by itself; this is a backstop should its
    /// own recovery stall). A direct connection reconnects by itself.
    pub fn failed(&self) {
        if matches!(self.source, Source::Sentinel(_) | Source::Cluster(_)) {
            CONNECTIONS.with(|c| c.borrow_mut().retain(|(id, _)| *id != self.id));
        }
    }
}

/// A client for `url` (named `var` in errors): TLS for `rediss://`,
/// trusting `ca_pem` when given, else the system's roots.
fn client(var: &str, url: &str, ca_pem: Option<&[u8]>) -> Result<redis::Client, String> {
    match ca_pem {
        None => redis::Client::open(url),
        Some(pem) => redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.to_vec()),
            },
        ),
    }
    .map_err(|e| format!("{var}: {e}"))
}

//! The primary of a Redis Sentinel group. The sentinels are asked in
//! plaintext, so what they answer is only an address: over TLS the server
//! there must prove with its certificate that it is the `REDIS_URL` host
//! before it is sent the password. (The redis crate's Sentinel client
//! checks the certificate against the address the sentinel names, so
//! whoever answers for a sentinel could name their own server holding a
//! certificate for their own address.)

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt as _;
use redis::aio::MultiplexedConnection;
use redis::io::AsyncDNSResolver;
use redis::{AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, RedisFuture, Role};

/// How many sentinels are asked at once.
const CONCURRENT_ASKS: usize = 8;

/// The sentinels of one group, and how to reach the primary they name.
pub(super) struct SentinelGroup {
    /// One plaintext client per sentinel, in the order given.
    sentinels: Vec<Client>,
    master: String,
    /// `REDIS_URL`'s credentials, database and TLS settings; its host is
    /// the name a primary's certificate must carry, its address is what
    /// the sentinels say.
    primary: ConnectionInfo,
    timeout: Duration,
}

impl SentinelGroup {
    /// The group `master` that `sentinels` (`host:port`) watch; `primary`
    /// is `REDIS_URL`'s connection info (with its TLS certificates).
    pub(super) fn new(
        sentinels: &[String],
        master: &str,
        primary: ConnectionInfo,
        timeout: Duration,
    ) -> Result<Self, String> {
        let sentinels = sentinels
            .iter()
            .map(|s| Client::open(format!("redis://{s}")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("REDIS_SENTINELS: {e}"))?;
        Ok(Self {
            sentinels,
            master: master.to_owned(),
            primary,
            timeout,
        })
    }

    fn config(&self) -> AsyncConnectionConfig {
        AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
    }

    /// A connection to the primary the first sentinel (in the given order)
    /// that knows a healthy one names, once the server there has proved
    /// its name (TLS), taken the credentials and said it is a primary.
    pub(super) async fn connect(&self) -> Result<MultiplexedConnection, String> {
        let (ip, port) = self.ask().await?;
        let (addr, name) = match self.primary.addr() {
            ConnectionAddr::TcpTls {
                host,
                insecure,
                tls_params,
                ..
            } => (
                ConnectionAddr::TcpTls {
                    host: host.clone(),
                    port,
                    insecure: *insecure,
                    tls_params: tls_params.clone(),
                },
                Some(host.as_str()),
            ),
            _ => (ConnectionAddr::Tcp(ip.clone(), port), None),
        };
        let at = format!("{ip}:{port}");
        let config = self.config().set_dns_resolver(Named(ip, port));
        let connect = async {
            let client = Client::open(self.primary.clone().set_addr(addr))?;
            let mut conn = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            let role: Role = redis::cmd("ROLE").query_async(&mut conn).await?;
            Ok::<_, redis::RedisError>((conn, role))
        };
        match (connect.await, name) {
            (Ok((conn, Role::Primary { .. })), _) => Ok(conn),
            (Ok(_), _) => Err(format!(
                "redis sentinel: {at}, named as the primary of `{}`, is not a primary (yet)",
                self.master
            )),
            (Err(e), Some(name)) => Err(format!(
                "redis sentinel: the primary the sentinels name, {at}, did not connect as \
                 `{name}` (over TLS its certificate must name the REDIS_URL host): {e}"
            )),
            (Err(e), None) => Err(format!(
                "redis sentinel: the primary the sentinels name, {at}: {e}"
            )),
        }
    }

    /// The primary's `(host, port)` from the first sentinel, in the given
    /// order, that names a healthy one.
    async fn ask(&self) -> Result<(String, u16), String> {
        // Collected first: with the closure inside the stream, rustc cannot
        // prove the future `Send`. The futures are lazy, so `buffered` still
        // runs at most `CONCURRENT_ASKS` at once.
        let asks: Vec<_> = self.sentinels.iter().map(|s| self.ask_one(s)).collect();
        let mut answers = futures_util::stream::iter(asks).buffered(CONCURRENT_ASKS);
        let mut why = String::from("no sentinel listed");
        while let Some(answer) = answers.next().await {
            match answer {
                Ok(addr) => return Ok(addr),
                Err(e) => why = e,
            }
        }
        Err(format!("redis sentinel: {why}"))
    }

    async fn ask_one(&self, sentinel: &Client) -> Result<(String, u16), String> {
        let addr = sentinel.get_connection_info().addr();
        let mut conn = sentinel
            .get_multiplexed_async_connection_with_config(&self.config())
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let info: HashMap<String, String> = redis::cmd("SENTINEL")
            .arg("MASTER")
            .arg(&self.master)
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let healthy = info.get("flags").is_some_and(|flags| {
            flags.contains("master") && !flags.contains("s_down") && !flags.contains("o_down")
        });
        match (
            info.get("ip"),
            info.get("port").and_then(|p| p.parse().ok()),
        ) {
            (Some(ip), Some(port)) if healthy => Ok((ip.clone(), port)),
            _ => Err(format!(
                "{addr}: knows no healthy primary of `{}`",
                self.master
            )),
        }
    }
}

/// Resolves whatever name the client verifies to the address a sentinel
/// named (itself resolved, should the sentinels announce host names).
struct Named(String, u16);

impl AsyncDNSResolver for Named {
    fn resolve<'a, 'b: 'a>(
        &'a self,
        _host: &'b str,
        _port: u16,
    ) -> RedisFuture<'a, Box<dyn Iterator<Item = SocketAddr> + Send + 'a>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((self.0.as_str(), self.1)).await?;
            Ok(Box::new(addrs) as Box<dyn Iterator<Item = SocketAddr> + Send>)
        })
    }
}

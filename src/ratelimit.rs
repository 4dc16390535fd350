//! Token-bucket rate limits per client address and per subject, in this
//! process or shared by every replica in Redis (`shared.rs`). The client
//! address itself is `crate::address`'s.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::Quota;
use ipnet::IpNet;
use prometheus::IntCounter;

use crate::redis_conn::{RedisConnections, Topology};
use crate::secret::Secret;
use shared::{SharedBuckets, SHARED_TIMEOUT};
use store::Limiter;

mod folded;
mod hints;
mod lease;
mod shared;
mod store;

use crate::address::{bucket, ClientAddr, ProxyHeader};
pub use folded::{FoldedChecks, FoldedLookup, SubjectCheck};
pub use hints::{SubjectHint, SubjectHints};

/// Rate limits (`RATE_LIMIT_IP`, `RATE_LIMIT_SUBJECT`, `RATE_LIMIT_IPV6_PREFIX`),
/// `TRUSTED_PROXIES` and `TRUSTED_PROXY_HEADER`.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Per client address; default `600/m`; `None` = off.
    pub per_client: Option<Rate>,
    /// Per subject; default `60/m`; `None` = off.
    pub per_subject: Option<Rate>,
    /// Peers whose `proxy_header` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `TRUSTED_PROXY_HEADER`: the header family read from trusted proxies;
    /// default `x-forwarded-for`.
    pub proxy_header: ProxyHeader,
    /// `RATE_LIMIT_IPV6_PREFIX`: IPv6 clients share a bucket per prefix of
    /// this length (32 to 128); default `64`.
    pub ipv6_prefix: u8,
    /// `RATE_LIMIT_STORE`: where the buckets live.
    pub store: LimitStore,
}

/// Where the buckets live (`RATE_LIMIT_STORE`).
#[derive(Debug, Clone, Default)]
pub enum LimitStore {
    /// In this process (`memory`, the default): N replicas allow N times
    /// the rates.
    #[default]
    Memory,
    /// In Redis (`redis`), shared by every replica; this process's own
    /// buckets answer while Redis does not.
    Redis {
        /// `RATE_LIMIT_REDIS_URL`, else `REDIS_URL`.
        url: Secret,
        /// `REDIS_CA_FILE`'s PEM, for `rediss://`.
        ca_pem: Option<Vec<u8>>,
        /// `REDIS_SENTINELS` + `REDIS_SENTINEL_MASTER`, or `REDIS_CLUSTER`
        /// (without `RATE_LIMIT_REDIS_URL`).
        topology: Topology,
    },
}

/// A limit: `count` requests per `period`, in bursts of up to `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed per period (also the burst).
    pub count: u32,
    /// The period.
    pub period: Duration,
}

impl Rate {
    /// Parses `120/m`, `10/s`, `1000/h`; `off` is `None`.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        let hint = "use e.g. `120/m`, `10/s`, `1000/h`, or `off`";
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let (count, unit) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a rate; {hint}"))?;
        let count: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("`{count}` is not a positive count; {hint}"))?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => return Err(format!("`{other}` is not s, m or h; {hint}")),
        };
        Ok(Some(Self { count, period }))
    }

    /// The time between two requests at this rate, in µs (at least 1).
    fn interval_us(self) -> u64 {
        (self.period.as_micros() / u128::from(self.count)).max(1) as u64
    }

    fn quota(self) -> Quota {
        let count = NonZeroU32::new(self.count).expect("parsed as positive");
        let per_cell = self.period / self.count;
        Quota::with_period(per_cell.max(Duration::from_nanos(1)))
            .expect("non-zero period")
            .allow_burst(count)
    }
}

/// The configured limits.
pub struct RateLimits {
    per_client: Option<(Rate, Limiter<IpAddr>)>,
    per_subject: Option<(Rate, Limiter<String>)>,
    ipv6_prefix: u8,
    shared: Option<SharedBuckets>,
    /// Checks the local buckets answered because Redis did not.
    fallbacks: IntCounter,
    /// When a fallback was last logged (unix seconds), to log one a minute.
    last_warning: AtomicU64,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("per_client", &self.per_client.is_some())
            .field("per_subject", &self.per_subject.is_some())
            .field("ipv6_prefix", &self.ipv6_prefix)
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

/// Over a limit: the client may retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limited for {0} s")]
pub struct RateLimited(pub u64);

/// Refused for `wait_us` µs, rounded up to whole seconds.
fn rate_limited(wait_us: u64) -> RateLimited {
    RateLimited(wait_us.div_ceil(1_000_000))
}

impl RateLimits {
    /// The limits, IPv6 keying and store that `config` sets; `fallbacks`
    /// counts checks answered locally because Redis did not. Connections
    /// to a shared store are made lazily.
    pub fn new(config: &LimitsConfig, fallbacks: IntCounter) -> Result<Self, String> {
        let shared = match &config.store {
            LimitStore::Memory => None,
            LimitStore::Redis {
                url,
                ca_pem,
                topology,
            } => Some(SharedBuckets::new(RedisConnections::for_topology(
                "RATE_LIMIT_REDIS_URL",
                url.expose(),
                ca_pem.as_deref(),
                topology,
                SHARED_TIMEOUT,
            )?)),
        };
        Ok(Self {
            per_client: config.per_client.map(|r| (r, Limiter::new(r.quota()))),
            per_subject: config.per_subject.map(|r| (r, Limiter::new(r.quota()))),
            ipv6_prefix: config.ipv6_prefix,
            shared,
            fallbacks,
            last_warning: AtomicU64::new(0),
        })
    }

    /// Refused when the client's address (its /`RATE_LIMIT_IPV6_PREFIX`
    /// for IPv6) is over its limit.
    pub async fn check_client(&self, client: Option<ClientAddr>) -> Result<(), RateLimited> {
        let (Some((rate, local)), Some(ClientAddr(ip))) = (&self.per_client, client) else {
            return Ok(());
        };
        let key = bucket(ip, self.ipv6_prefix);
        if self.shared.is_some() {
            if let Some(answer) = self.check_shared("ip", &key.to_string(), *rate).await {
                return answer;
            }
        }
        local.check(&key).map_err(RateLimited)
    }

    /// Whether subjects have a limit (`RATE_LIMIT_SUBJECT` is not `off`):
    /// only then may a valid session skip the client's bucket, since its
    /// subject's bucket bounds it instead.
    pub fn subjects_limited(&self) -> bool {
        self.per_subject.is_some()
    }

    /// Refused when the subject is over its limit.
    pub async fn check_subject(&self, sub: &str) -> Result<(), RateLimited> {
        let Some((rate, local)) = &self.per_subject else {
            return Ok(());
        };
        if let Some(answer) = self.check_shared("sub", sub, *rate).await {
            return answer;
        }
        local.check_str(sub).map_err(RateLimited)
    }

    /// The shared bucket's answer; `None` when there is none or it did not
    /// answer (then the local buckets do).
    async fn check_shared(
        &self,
        kind: &str,
        key: &str,
        rate: Rate,
    ) -> Option<Result<(), RateLimited>> {
        // Boxed: the Redis call's future is about 3 KiB; inline, it would
        // make every token request's handler future that large (actix boxes
        // that future per request, and glibc's malloc slows from 1 KiB),
        // with or without a shared store.
        match Box::pin(self.shared.as_ref()?.check(kind, key, rate)).await {
            Ok(0) => Some(Ok(())),
            Ok(wait_us) => Some(Err(rate_limited(wait_us))),
            Err(why) => {
                self.fell_back(&why);
                None
            }
        }
    }

    fn fell_back(&self, why: &str) {
        self.fallbacks.inc();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_warning.load(Ordering::Relaxed);
        if now >= last + 60
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            log::warn!(
                "shared rate limits unavailable ({why}): this replica's own buckets answer until Redis returns \
                 (realtime_token_rate_limit_fallbacks_total counts these checks)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{parse_trusted_proxies, ClientResolver};

    #[test]
    fn rates_parse() {
        assert_eq!(
            Rate::parse("120/m"),
            Ok(Some(Rate {
                count: 120,
                period: Duration::from_secs(60)
            }))
        );
        assert_eq!(Rate::parse("off"), Ok(None));
        for bad in ["", "10", "0/m", "x/m", "10/d", "-1/s"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn limits(trusted: &str, proxy_header: ProxyHeader) -> ClientResolver {
        ClientResolver::new(parse_trusted_proxies(trusted).unwrap(), proxy_header)
    }

    fn headers(lines: &[(&'static str, &'static str)]) -> actix_web::http::header::HeaderMap {
        use actix_web::http::header::{HeaderName, HeaderValue};
        let mut map = actix_web::http::header::HeaderMap::new();
        for (name, value) in lines {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    #[test]
    fn only_the_configured_header_is_read_from_trusted_peers() {
        let both = headers(&[
            ("x-forwarded-for", "10.0.0.1"),
            ("forwarded", "for=10.0.0.2"),
        ]);
        let proxy = ip("127.0.0.1");
        let xff = limits("127.0.0.1", ProxyHeader::XForwardedFor);
        assert_eq!(xff.resolve(proxy, &both), ip("10.0.0.1"));
        let fwd = limits("127.0.0.1", ProxyHeader::Forwarded);
        assert_eq!(fwd.resolve(proxy, &both), ip("10.0.0.2"));
        // Untrusted peers: no header counts, and the peer is canonical.
        assert_eq!(fwd.resolve(ip("::ffff:6.6.6.6"), &both), ip("6.6.6.6"));
        // A mapped trusted peer is trusted.
        assert_eq!(xff.resolve(ip("::ffff:127.0.0.1"), &both), ip("10.0.0.1"));
    }

    #[test]
    fn the_walk_stops_at_the_first_untrusted_or_unknown_hop() {
        let limits = limits("127.0.0.1, 10.0.0.0/8", ProxyHeader::Forwarded);
        let peer = ip("127.0.0.1");
        let chain = headers(&[
            ("forwarded", "for=1.1.1.1, for=2.2.2.2"),
            ("forwarded", "for=\"[::ffff:10.0.0.5]\";proto=https"),
        ]);
        assert_eq!(limits.resolve(peer, &chain), ip("2.2.2.2"));
        let unknown = headers(&[("forwarded", "for=1.1.1.1, for=unknown, for=10.0.0.5")]);
        assert_eq!(limits.resolve(peer, &unknown), ip("10.0.0.5"));
        let no_for = headers(&[("forwarded", "for=1.1.1.1, proto=https")]);
        assert_eq!(limits.resolve(peer, &no_for), peer);
    }
}

//! Token-bucket rate limits per client address and per subject, and the
//! client address itself (trusting the `TRUSTED_PROXY_HEADER` only from
//! `TRUSTED_PROXIES`; see [`ClientResolver`]).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

mod address;

use address::bucket;
pub use address::{
    parse_ipv6_prefix, parse_trusted_proxies, ClientAddr, ClientResolver, ProxyHeader,
    DEFAULT_IPV6_PREFIX,
};

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
    /// `TRUSTED_PROXY_HEADER`: the one header read from trusted proxies;
    /// default `x-forwarded-for`.
    pub proxy_header: ProxyHeader,
    /// `RATE_LIMIT_IPV6_PREFIX`: IPv6 clients share a bucket per prefix of
    /// this length (32 to 128); default `64`.
    pub ipv6_prefix: u8,
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

    fn quota(self) -> Quota {
        let count = NonZeroU32::new(self.count).expect("parsed as positive");
        let per_cell = self.period / self.count;
        Quota::with_period(per_cell.max(Duration::from_nanos(1)))
            .expect("non-zero period")
            .allow_burst(count)
    }
}

/// How often (in checks) idle buckets are dropped, to bound memory.
const SWEEP_EVERY: u64 = 16_384;

struct Limiter<K: std::hash::Hash + Eq + Clone> {
    inner: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: std::hash::Hash + Eq + Clone> Limiter<K> {
    fn new(rate: Rate) -> Self {
        Self {
            inner: RateLimiter::keyed(rate.quota()),
            checks: AtomicU64::new(0),
        }
    }

    /// `Err(seconds to wait)` when `key` is over its limit.
    fn check(&self, key: &K) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.inner.retain_recent();
            self.inner.shrink_to_fit();
        }
        self.inner.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// The configured limits.
pub struct RateLimits {
    per_client: Option<Limiter<IpAddr>>,
    per_subject: Option<Limiter<String>>,
    ipv6_prefix: u8,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("per_client", &self.per_client.is_some())
            .field("per_subject", &self.per_subject.is_some())
            .field("ipv6_prefix", &self.ipv6_prefix)
            .finish()
    }
}

/// Over a limit: the client may retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limited for {0} s")]
pub struct RateLimited(pub u64);

impl RateLimits {
    /// The limits and IPv6 keying that `config` sets.
    pub fn new(config: &LimitsConfig) -> Self {
        Self {
            per_client: config.per_client.map(Limiter::new),
            per_subject: config.per_subject.map(Limiter::new),
            ipv6_prefix: config.ipv6_prefix,
        }
    }

    /// Refused when the client's address (its /`RATE_LIMIT_IPV6_PREFIX`
    /// for IPv6) is over its limit.
    pub fn check_client(&self, client: Option<ClientAddr>) -> Result<(), RateLimited> {
        let (Some(limiter), Some(ClientAddr(ip))) = (&self.per_client, client) else {
            return Ok(());
        };
        limiter
            .check(&bucket(ip, self.ipv6_prefix))
            .map_err(RateLimited)
    }

    /// Refused when the subject is over its limit.
    pub fn check_subject(&self, sub: &str) -> Result<(), RateLimited> {
        let Some(limiter) = &self.per_subject else {
            return Ok(());
        };
        limiter.check(&sub.to_owned()).map_err(RateLimited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! Token-bucket rate limits per client address and per subject, and the
//! client address itself (trusting `X-Forwarded-For` / `Forwarded` only
//! from `TRUSTED_PROXIES`).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

use crate::config::LimitsConfig;
use crate::error::ApiError;

mod address;

use address::{bucket, forwarded_chain};
pub use address::{parse_ipv6_prefix, parse_trusted_proxies, DEFAULT_IPV6_PREFIX};

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
    trusted_proxies: Vec<IpNet>,
    ipv6_prefix: u8,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("per_client", &self.per_client.is_some())
            .field("per_subject", &self.per_subject.is_some())
            .field("trusted_proxies", &self.trusted_proxies)
            .field("ipv6_prefix", &self.ipv6_prefix)
            .finish()
    }
}

impl RateLimits {
    /// The limits, trusted proxies and IPv6 keying that `config` sets.
    pub fn new(config: &LimitsConfig) -> Self {
        Self {
            per_client: config.per_client.map(Limiter::new),
            per_subject: config.per_subject.map(Limiter::new),
            trusted_proxies: config.trusted_proxies.clone(),
            ipv6_prefix: config.ipv6_prefix,
        }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client's canonical address (`::ffff:a.b.c.d` is `a.b.c.d`, also
    /// for the peer of a dual-stack listener): the peer, or, when the peer is
    /// a trusted proxy, the nearest untrusted address it forwarded.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip().to_canonical();
        if !self.trusted(peer) {
            return Some(peer);
        }
        let forwarded = forwarded_chain(req);
        // Walk from the nearest hop outwards; the first untrusted hop is the client.
        let mut client = peer;
        for ip in forwarded.iter().rev() {
            client = *ip;
            if !self.trusted(*ip) {
                break;
            }
        }
        Some(client)
    }

    /// 429 when the client's address (its /`RATE_LIMIT_IPV6_PREFIX` for
    /// IPv6) is over its limit.
    pub fn check_client(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let (Some(limiter), Some(ip)) = (&self.per_client, self.client_ip(req)) else {
            return Ok(());
        };
        limiter
            .check(&bucket(ip, self.ipv6_prefix))
            .map_err(ApiError::RateLimited)
    }

    /// 429 when the subject is over its limit.
    pub fn check_subject(&self, sub: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.per_subject else {
            return Ok(());
        };
        limiter
            .check(&sub.to_owned())
            .map_err(ApiError::RateLimited)
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
}

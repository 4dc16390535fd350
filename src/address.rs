//! The client address: which proxies are trusted and what they forwarded
//! (`TRUSTED_PROXIES`, `TRUSTED_PROXY_HEADER`), and the bucket an address
//! shares (`RATE_LIMIT_IPV6_PREFIX`). The base of `http/` (which resolves
//! it per request) and of `ratelimit` (which counts per bucket).

use std::net::{IpAddr, Ipv6Addr};

use actix_web::http::header::{HeaderMap, HeaderName};
use ipnet::{IpNet, Ipv4Net};

/// The header a trusted proxy names the client (and the browser's host) in
/// (`TRUSTED_PROXY_HEADER`). Only this family is read; the other is
/// ignored, since a proxy passes on whatever the client sent in the header
/// it does not set itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, ...` and `X-Forwarded-Host` (the
    /// default).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;host=..., for=proxy1, ...`.
    Forwarded,
}

impl ProxyHeader {
    /// Parses `x-forwarded-for` or `forwarded` (any case).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.eq_ignore_ascii_case("x-forwarded-for") {
            Ok(Self::XForwardedFor)
        } else if text.eq_ignore_ascii_case("forwarded") {
            Ok(Self::Forwarded)
        } else {
            Err(format!(
                "`{text}` is not `x-forwarded-for` or `forwarded`; name the header your proxy sets (the other one is ignored)"
            ))
        }
    }

    /// The header's name, parsed once (a `&str` name is parsed and
    /// validated on every lookup).
    fn name(self) -> &'static HeaderName {
        match self {
            Self::XForwardedFor => &X_FORWARDED_FOR,
            Self::Forwarded => &FORWARDED,
        }
    }

    /// The canonical address one comma-separated entry names.
    fn address(self, entry: &str) -> Option<IpAddr> {
        let text = match self {
            Self::XForwardedFor => entry.trim(),
            Self::Forwarded => parameter(entry, "for")?,
        };
        parse_ip(text).map(|ip| ip.to_canonical())
    }
}

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static FORWARDED: HeaderName = HeaderName::from_static("forwarded");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The value of parameter `name` in one `Forwarded` element
/// (`for=1.2.3.4;host="app.example.com"`), unquoted.
fn parameter<'e>(element: &'e str, name: &str) -> Option<&'e str> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"'))
    })
}

/// The host the browser asked for, as a trusted proxy forwarded it (it
/// replaced `Host`); resolved with [`ClientAddr`] and kept beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedHost(pub String);

impl ForwardedHost {
    /// The forwarded host of this request, if a trusted proxy sent one.
    pub fn of(req: &actix_web::HttpRequest) -> Option<Self> {
        use actix_web::HttpMessage as _;
        req.extensions().get::<Self>().cloned()
    }
}

/// The client's canonical address, resolved once per request by the
/// `http::client_addr` middleware and kept in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The address's bucket: itself for IPv4, its first `ipv6_prefix`
    /// bits for IPv6 (one subscriber may use any address of its /64).
    pub fn bucket(self, ipv6_prefix: u8) -> IpAddr {
        bucket(self.0, ipv6_prefix)
    }

    /// The address resolved for this request, if any.
    pub fn of(req: &actix_web::HttpRequest) -> Option<Self> {
        use actix_web::HttpMessage as _;
        req.extensions().get::<Self>().copied()
    }
}

/// Names the client: the peer, or what the trusted proxies forwarded.
#[derive(Debug, Clone)]
pub struct ClientResolver {
    trusted_proxies: Vec<IpNet>,
    proxy_header: ProxyHeader,
}

impl ClientResolver {
    /// Believes `proxy_header` from peers in `trusted_proxies`.
    pub fn new(trusted_proxies: Vec<IpNet>, proxy_header: ProxyHeader) -> Self {
        Self {
            trusted_proxies,
            proxy_header,
        }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client's canonical address (`::ffff:a.b.c.d` is `a.b.c.d`, also
    /// for the peer of a dual-stack listener): the peer, or, when the peer
    /// is a trusted proxy, the nearest untrusted address it forwarded in
    /// `TRUSTED_PROXY_HEADER`.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusted(client) {
            return client;
        }
        // Walk from the nearest hop outwards; the first untrusted hop is the
        // client. An entry naming no address ends the walk: nothing before
        // it can be trusted.
        for hop in hops(headers, self.proxy_header) {
            let Some(ip) = hop else { break };
            client = ip;
            if !self.trusted(ip) {
                break;
            }
        }
        client
    }

    /// The host a trusted peer says the browser asked for, read from the
    /// `TRUSTED_PROXY_HEADER` family: the last `X-Forwarded-Host` value
    /// (the one the peer itself set), or, for `forwarded`, the `host=` of
    /// the outermost element a trusted proxy wrote (the walk of
    /// [`resolve`](Self::resolve)). `None` from any other peer.
    pub fn forwarded_host(&self, peer: IpAddr, headers: &HeaderMap) -> Option<ForwardedHost> {
        if !self.trusted(peer.to_canonical()) {
            return None;
        }
        let host = match self.proxy_header {
            ProxyHeader::XForwardedFor => headers
                .get_all(&X_FORWARDED_HOST)
                .next_back()
                .and_then(|line| line.to_str().ok())
                .and_then(|line| line.rsplit(',').next())
                .map(str::trim),
            ProxyHeader::Forwarded => {
                let mut host = None;
                for element in elements(headers, ProxyHeader::Forwarded) {
                    host = parameter(element, "host").or(host);
                    let hop = ProxyHeader::Forwarded.address(element);
                    if !hop.is_some_and(|ip| self.trusted(ip)) {
                        break;
                    }
                }
                host
            }
        };
        host.filter(|h| !h.is_empty())
            .map(|h| ForwardedHost(h.to_owned()))
    }
}

/// The comma-separated elements of `header`, nearest hop first (an
/// unreadable header line is one empty element).
fn elements(headers: &HeaderMap, header: ProxyHeader) -> impl Iterator<Item = &str> + '_ {
    headers
        .get_all(header.name())
        .rev()
        .flat_map(|line| line.to_str().unwrap_or("").rsplit(','))
}

/// The entries of `header`, nearest hop first (the header lists the client
/// first): `Some` canonical address (`::ffff:a.b.c.d` is `a.b.c.d`), or
/// `None` for an entry naming none (`unknown`, an obfuscated `_name`, a
/// `Forwarded` element without `for=`, an unreadable header line).
fn hops(headers: &HeaderMap, header: ProxyHeader) -> impl Iterator<Item = Option<IpAddr>> + '_ {
    elements(headers, header).map(move |entry| header.address(entry))
}

/// Default `RATE_LIMIT_IPV6_PREFIX`: one bucket per /64, the usual smallest
/// assignment to one subscriber (who can pick any address inside it).
pub const DEFAULT_IPV6_PREFIX: u8 = 64;

/// Parses `RATE_LIMIT_IPV6_PREFIX`: a prefix length from 32 to 128.
pub fn parse_ipv6_prefix(text: &str) -> Result<u8, String> {
    text.parse::<u8>()
        .ok()
        .filter(|n| (32..=128).contains(n))
        .ok_or_else(|| {
            format!("`{text}` is not a prefix length from 32 to 128; e.g. RATE_LIMIT_IPV6_PREFIX=64 (one bucket per /64)")
        })
}

/// The rate-limit bucket of a canonical address: IPv4 addresses one each,
/// IPv6 addresses by their first `ipv6_prefix` bits.
pub fn bucket(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let keep = 128 - u32::from(ipv6_prefix.min(128));
            let mask = u128::MAX.checked_shl(keep).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & mask))
        }
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `[::1]`, `[::1]:5678`, `::1`.
fn parse_ip(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    text.rsplit_once(':')?.0.parse().ok()
}

/// Parses `TRUSTED_PROXIES`: addresses or CIDR ranges, comma-separated.
/// IPv4-mapped ranges (`::ffff:10.0.0.0/104`) become IPv4 ones, since the
/// addresses they are matched against are canonical.
pub fn parse_trusted_proxies(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map(canonical_net)
                .map_err(|_| format!("`{s}` is not an address or CIDR range; e.g. TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1"))
        })
        .collect()
}

fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => v6
            .addr()
            .to_ipv4_mapped()
            .and_then(|v4| Ipv4Net::new(v4, v6.prefix_len() - 96).ok())
            .map_or(net, IpNet::V4),
        _ => net,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_parse() {
        assert_eq!(parse_ip("1.2.3.4:80"), "1.2.3.4".parse().ok());
        assert_eq!(parse_ip("[::1]:80"), "::1".parse().ok());
        assert_eq!(parse_ip("::1"), "::1".parse().ok());
        assert_eq!(parse_ip("unknown"), None);
        assert!(parse_trusted_proxies("10.0.0.0/8, 127.0.0.1").is_ok());
        assert!(parse_trusted_proxies("example.com").is_err());
    }

    #[test]
    fn mapped_trusted_ranges_become_ipv4() {
        let nets =
            parse_trusted_proxies("::ffff:10.0.0.0/104, ::ffff:127.0.0.1, ::1, ::/0").unwrap();
        let want: Vec<IpNet> = ["10.0.0.0/8", "127.0.0.1/32", "::1/128", "::/0"]
            .iter()
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(nets, want);
    }

    #[test]
    fn ipv6_prefixes_parse() {
        assert_eq!(parse_ipv6_prefix("56"), Ok(56));
        for bad in ["", "31", "129", "256", "/64", "+64 ", "64.0"] {
            assert!(parse_ipv6_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv6_addresses_share_a_bucket_per_prefix() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(bucket(ip("2001:db8::1:2:3:4"), 64), ip("2001:db8::"));
        assert_eq!(bucket(ip("10.1.2.3"), 64), ip("10.1.2.3"));
        assert_eq!(
            bucket(ip("2001:db8:0:12ff::1"), 56),
            ip("2001:db8:0:1200::")
        );
        assert_eq!(bucket(ip("2001:db8::1"), 128), ip("2001:db8::1"));
        assert_eq!(bucket(ip("2001:db8::1"), 0), ip("::"));
    }

    #[test]
    fn proxy_headers_parse() {
        assert_eq!(ProxyHeader::parse("Forwarded"), Ok(ProxyHeader::Forwarded));
        assert_eq!(
            ProxyHeader::parse("X-FORWARDED-FOR"),
            Ok(ProxyHeader::XForwardedFor)
        );
        assert!(ProxyHeader::parse("x-real-ip").is_err());
    }

    #[test]
    fn entries_name_their_address() {
        let ip = |text: &str| text.parse::<IpAddr>().ok();
        let fwd = ProxyHeader::Forwarded;
        assert_eq!(fwd.address("for=1.2.3.4"), ip("1.2.3.4"));
        assert_eq!(
            fwd.address(" proto=https; FOR = \"[2001:db8::1]:4711\" ;by=x"),
            ip("2001:db8::1")
        );
        assert_eq!(fwd.address("for=\"[::ffff:10.0.0.1]\""), ip("10.0.0.1"));
        for nobody in ["for=unknown", "for=_hidden", "proto=https", "", "for="] {
            assert_eq!(fwd.address(nobody), None, "{nobody}");
        }
        let xff = ProxyHeader::XForwardedFor;
        assert_eq!(xff.address(" ::ffff:1.2.3.4 "), ip("1.2.3.4"));
        assert_eq!(xff.address("for=1.2.3.4"), None);
    }
}

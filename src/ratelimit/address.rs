//! The client address: which proxies are trusted and what they forwarded.

use std::net::{IpAddr, Ipv6Addr};

use actix_web::HttpRequest;
use ipnet::{IpNet, Ipv4Net};

/// The addresses in `X-Forwarded-For` (or, without it, `Forwarded: for=`),
/// client first, canonical (`::ffff:a.b.c.d` is `a.b.c.d`). Unparsable entries end the chain there (nothing before
/// them can be trusted).
pub(super) fn forwarded_chain(req: &HttpRequest) -> Vec<IpAddr> {
    let headers = req.headers();
    let mut out = Vec::new();
    let xff: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let entries: Vec<String> = if !xff.is_empty() {
        xff.into_iter().map(str::to_owned).collect()
    } else {
        headers
            .get_all("forwarded")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.trim().split_once('=')?;
                    k.eq_ignore_ascii_case("for")
                        .then(|| v.trim_matches('"').to_owned())
                })
            })
            .collect()
    };
    for entry in entries.iter().rev() {
        match parse_ip(entry) {
            Some(ip) => out.push(ip.to_canonical()),
            None => break,
        }
    }
    out.reverse();
    out
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
pub(super) fn bucket(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
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
}

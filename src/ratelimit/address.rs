//! The client address: which proxies are trusted and what they forwarded.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The addresses in `X-Forwarded-For` (or, without it, `Forwarded: for=`),
/// client first. Unparsable entries end the chain there (nothing before
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
            Some(ip) => out.push(ip),
            None => break,
        }
    }
    out.reverse();
    out
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
pub fn parse_trusted_proxies(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{s}` is not an address or CIDR range; e.g. TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1"))
        })
        .collect()
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
}

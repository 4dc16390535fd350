//! Checks that keep weak or mistyped settings from starting silently:
//! secrets too short, too uniform or with whitespace at their ends (judged
//! in [`crate::secret`], which the session formats' own keys use too),
//! proxy ranges that trust everyone, origins a browser never sends.

use ipnet::IpNet;

pub use crate::secret::{untrimmed, weakness};

/// Why a `TRUSTED_PROXIES` range must be refused: one that contains every
/// address lets any client name its own address.
pub fn trusts_everyone(net: &IpNet) -> Option<String> {
    (net.prefix_len() == 0).then(|| {
        format!(
            "`{net}` trusts every address, so any client could choose its own address (and rate-limit bucket) \
             with X-Forwarded-For; list only your proxies, e.g. TRUSTED_PROXIES=10.0.0.0/8"
        )
    })
}

/// True when `net` lies inside private, loopback, link-local or shared
/// address space, where proxies usually are.
pub fn is_private(net: &IpNet) -> bool {
    const PRIVATE: &[&str] = &[
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    ];
    PRIVATE
        .iter()
        .map(|p| p.parse::<IpNet>().expect("valid range"))
        .any(|private| private.contains(net))
}

/// Why an `ALLOWED_ORIGINS` entry can never match what a browser sends, if
/// it cannot: browsers send the host in lower case and leave out the
/// scheme's default port.
pub fn unsendable_origin(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.split_once("://")?;
    let default_port = match scheme {
        "https" => ":443",
        _ => ":80",
    };
    if rest.bytes().any(|b| b.is_ascii_uppercase()) {
        return Some(format!(
            "`{origin}` has upper-case letters, but browsers send the host in lower case; write `{scheme}://{}`",
            rest.to_ascii_lowercase()
        ));
    }
    if let Some(host) = rest.strip_suffix(default_port) {
        return Some(format!(
            "`{origin}` names the default port, which browsers leave out of the Origin header; write `{scheme}://{host}`"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_and_origins() {
        assert!(trusts_everyone(&"0.0.0.0/0".parse().unwrap()).is_some());
        assert!(trusts_everyone(&"::/0".parse().unwrap()).is_some());
        assert!(trusts_everyone(&"10.0.0.0/8".parse().unwrap()).is_none());
        assert!(is_private(&"10.1.0.0/16".parse().unwrap()));
        assert!(!is_private(&"203.0.113.0/24".parse().unwrap()));
        assert!(unsendable_origin("https://App.example.com").is_some());
        assert!(unsendable_origin("https://app.example.com:443").is_some());
        assert!(unsendable_origin("http://localhost:80").is_some());
        assert!(unsendable_origin("https://app.example.com:8443").is_none());
        assert!(unsendable_origin("http://localhost:3000").is_none());
    }
}

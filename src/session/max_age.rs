//! How long an HTTP answer stays fresh, as a cache reads it (RFC 9111
//! §4.2): for the JWKS answers `session::codec::jwt::jwks` keeps.

use std::time::Duration;

use reqwest::header::{HeaderMap, AGE, CACHE_CONTROL};

/// How long an answer with these headers stays fresh (RFC 9111 §4.2): its
/// `Cache-Control: max-age` less its `Age`; zero with `no-store` or
/// `no-cache`; `None` without any of these. `Expires` is not read.
pub fn freshness(headers: &HeaderMap) -> Option<Duration> {
    let directives = headers
        .get_all(CACHE_CONTROL)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim);
    let mut max_age = None;
    for directive in directives {
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        let name = name.trim();
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            // A malformed max-age makes the answer stale (RFC 9111 §4.2.1).
            let secs = value.trim().trim_matches('"').parse::<u64>().unwrap_or(0);
            max_age = Some(max_age.map_or(secs, |m: u64| m.min(secs)));
        }
    }
    let age = headers
        .get(AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    max_age.map(|secs| Duration::from_secs(secs.saturating_sub(age)))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn fresh_for(headers: &[(&'static str, &'static str)]) -> Option<u64> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_static(value));
        }
        freshness(&map).map(|d| d.as_secs())
    }

    #[test]
    fn max_age_less_age_and_the_directives_that_forbid_reuse() {
        assert_eq!(fresh_for(&[]), None);
        assert_eq!(fresh_for(&[("cache-control", "public")]), None);
        assert_eq!(
            fresh_for(&[("cache-control", "public, max-age=300")]),
            Some(300)
        );
        assert_eq!(fresh_for(&[("cache-control", "Max-Age=\"60\"")]), Some(60));
        // A CDN's copy: what is left of it.
        let aged = [("cache-control", "max-age=300"), ("age", "280")];
        assert_eq!(fresh_for(&aged), Some(20));
        assert_eq!(
            fresh_for(&[("cache-control", "max-age=30"), ("age", "99")]),
            Some(0)
        );
        // Two values (or two headers): the shorter; malformed: stale.
        let two = [
            ("cache-control", "max-age=600"),
            ("cache-control", "max-age=60"),
        ];
        assert_eq!(fresh_for(&two), Some(60));
        assert_eq!(fresh_for(&[("cache-control", "max-age=soon")]), Some(0));
        assert_eq!(fresh_for(&[("cache-control", "max-age=-1")]), Some(0));
        for forbid in [
            "no-store",
            "no-cache",
            "max-age=3600, no-cache=\"set-cookie\"",
        ] {
            assert_eq!(fresh_for(&[("cache-control", forbid)]), Some(0), "{forbid}");
        }
    }
}

//! Cookie reading as Express's `cookie` package does it, on the `cookie`
//! crate's parser; the signature format lives in
//! [`super::codec::express_signed`].

use actix_web::http::header::{HeaderMap, COOKIE};
use cookie::Cookie;
use percent_encoding::percent_decode_str;

/// Longest cookie value accepted before any parsing.
pub const MAX_COOKIE_VALUE: usize = 4096;

/// Every well-formed cookie across all `Cookie` headers, in order, with name
/// and value percent-decoded by the `cookie` crate (surrounding quotes and
/// spaces dropped). A pair that is malformed (no `=`, empty name), longer
/// than [`MAX_COOKIE_VALUE`] or that decodes to invalid UTF-8 is skipped, so
/// one bad cookie cannot hide the others. A bad `%` escape stays as written,
/// as Express's `decodeURIComponent` fallback keeps it.
pub fn cookies(headers: &HeaderMap) -> impl Iterator<Item = Cookie<'_>> {
    headers
        .get_all(COOKIE)
        .filter_map(|header| header.to_str().ok())
        .flat_map(|text| text.split(';'))
        .filter(|pair| pair.len() <= MAX_COOKIE_VALUE)
        .filter_map(|pair| Cookie::parse_encoded(pair).ok())
}

/// The value of the first well-formed cookie called `name` (first wins, as
/// in Express), percent-decoded. `None` when there is none.
///
/// The same cookies as [`cookies`] finds, read the same way (the `cookie`
/// crate's trimming and quote stripping, `percent_encoding` as it decodes),
/// but only the one asked for is decoded, straight into the returned
/// `String`: the crate decodes every cookie's name and value into new
/// strings once either holds an escape.
pub fn find_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .filter_map(|header| header.to_str().ok())
        .flat_map(|text| text.split(';'))
        .filter(|pair| pair.len() <= MAX_COOKIE_VALUE)
        .find_map(|pair| {
            let (raw_name, raw_value) = split_pair(pair)?;
            let same_name = match raw_name.contains('%') {
                false => raw_name == name,
                true => percent_decode_str(raw_name)
                    .decode_utf8()
                    .is_ok_and(|decoded| decoded == name),
            };
            if !same_name {
                return None;
            }
            let value = percent_decode_str(raw_value).decode_utf8().ok()?;
            Some(value.into_owned())
        })
}

/// A pair's name and value as `cookie::Cookie::parse` splits them (`None`
/// for a pair it refuses: no `=`, or an empty name), not yet decoded.
fn split_pair(pair: &str) -> Option<(&str, &str)> {
    let (name, value) = pair.split_once('=')?;
    let (name, value) = (name.trim(), value.trim());
    let value = match value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        true => &value[1..value.len() - 1],
        false => value,
    };
    (!name.is_empty()).then_some((name, value.trim()))
}

/// Percent-encodes a cookie value the way Express's `encodeURIComponent` does.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(COOKIE, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn percent_round_trip() {
        let raw = "s:a b+c/d.e=;\"%";
        let h = headers(&[&format!("sid={}", percent_encode(raw))]);
        assert_eq!(find_cookie(&h, "sid").as_deref(), Some(raw));
    }

    #[test]
    fn first_well_formed_cookie_of_a_name_wins_across_headers() {
        let h = headers(&["a=1; junk; =x; sid=%ff; sid=first", "sid=second"]);
        assert_eq!(find_cookie(&h, "sid").as_deref(), Some("first"));
        let h = headers(&["other=1", "sid=\" quoted \""]);
        assert_eq!(find_cookie(&h, "sid").as_deref(), Some("quoted"));
        assert_eq!(find_cookie(&h, "none"), None);
    }

    #[test]
    fn bad_escapes_stay_as_written_and_long_values_are_skipped() {
        let h = headers(&["sid=%zz%4"]);
        assert_eq!(find_cookie(&h, "sid").as_deref(), Some("%zz%4"));
        let long = format!("sid={}; sid=short", "x".repeat(MAX_COOKIE_VALUE));
        assert_eq!(
            find_cookie(&headers(&[&long]), "sid").as_deref(),
            Some("short")
        );
    }

    /// `find_cookie` as it was: every pair parsed and decoded by the
    /// `cookie` crate, the first of the name taken.
    fn find_by_cookie_crate(headers: &HeaderMap, name: &str) -> Option<String> {
        cookies(headers)
            .find(|c| c.name() == name)
            .map(|c| c.value().to_owned())
    }

    #[test]
    fn finds_what_the_cookie_crate_finds() {
        use rand::{Rng as _, SeedableRng as _};
        // Pieces that trip parsers: escapes (valid, not UTF-8, broken),
        // quotes, spaces, encoded names, empty names, pairs without `=`.
        let pieces = [
            "sid", "%73id", "s%69d", "other", "", " ", "=", "\"", "%", "%2", "%zz", "%3A", "%ff",
            "%C3%A9", "a", "s:x.y", "\" q \"", "==", "\t",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..20_000 {
            let mut headers = HeaderMap::new();
            for _ in 0..rng.gen_range(1..3) {
                let mut text = String::new();
                for _ in 0..rng.gen_range(0..12) {
                    match rng.gen_range(0..6) {
                        0 => text.push(';'),
                        1 => text.push('='),
                        _ => text.push_str(pieces[rng.gen_range(0..pieces.len())]),
                    }
                }
                if let Ok(value) = text.parse() {
                    headers.append(COOKIE, value);
                }
            }
            for name in ["sid", "other", "a", "s:x.y", "\u{e9}"] {
                assert_eq!(
                    find_cookie(&headers, name),
                    find_by_cookie_crate(&headers, name),
                    "{name:?} in {headers:?}"
                );
            }
        }
    }
}

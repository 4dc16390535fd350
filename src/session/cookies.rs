//! Cookie reading as Express's `cookie` package does it, on the `cookie`
//! crate's parser; the signature format lives in
//! [`super::codec::express_signed`] (re-exported here).

use actix_web::http::header::{HeaderMap, COOKIE};
use cookie::Cookie;

pub use super::codec::express_signed::{CookieSigner, UnsignError};

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
pub fn find_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    cookies(headers)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
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

    #[test]
    fn sign_matches_cookie_signature_package() {
        // cookie-signature: sign('hello', 'tobiiscool') from its own test suite.
        let signer = CookieSigner::new(["tobiiscool"]);
        assert_eq!(
            signer.sign("hello"),
            "s:hello.DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QI"
        );
        assert_eq!(signer.unsign(&signer.sign("a.b.c")), Ok("a.b.c"));
    }

    #[test]
    fn rejects_bad_forms() {
        let signer = CookieSigner::new(["k"]);
        assert_eq!(signer.unsign("hello"), Err(UnsignError::NotSigned));
        assert_eq!(signer.unsign("s:hello"), Err(UnsignError::Malformed));
        let good = signer.sign("hello");
        let tampered = good.replacen("hello", "hellp", 1);
        assert_eq!(signer.unsign(&tampered), Err(UnsignError::BadSignature));
    }

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
}

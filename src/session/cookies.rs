//! Cookie reading as Express's `cookie` package does it; the signature
//! format lives in [`super::codec::express_signed`] (re-exported here).

use std::borrow::Cow;

use actix_web::http::header::{HeaderMap, COOKIE};

pub use super::codec::express_signed::{CookieSigner, UnsignError};

/// Longest cookie value accepted before any parsing.
pub const MAX_COOKIE_VALUE: usize = 4096;

/// The first cookie called `name` across all `Cookie` headers, percent-decoded
/// (the rule Express applies). `None` when absent, not UTF-8, or badly encoded.
pub fn find_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<Cow<'a, str>> {
    for header in headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            if key.trim() != name {
                continue;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            if value.len() > MAX_COOKIE_VALUE {
                return None;
            }
            return percent_decode(value);
        }
    }
    None
}

/// Decodes `%XX` escapes; `None` on a malformed escape or non-UTF-8 result.
pub fn percent_decode(value: &str) -> Option<Cow<'_, str>> {
    if !value.contains('%') {
        return Some(Cow::Borrowed(value));
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
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

    #[test]
    fn percent_round_trip() {
        let raw = "s:a b+c/d.e=";
        assert_eq!(percent_decode(&percent_encode(raw)).unwrap(), raw);
        assert!(percent_decode("%zz").is_none());
        assert!(percent_decode("%ff").is_none());
        assert!(percent_decode("%4").is_none());
    }
}

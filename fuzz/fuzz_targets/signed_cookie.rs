//! Cookie header → `find_cookie` (the `cookie` crate) → `CookieSigner::unsign`
//! → `SignedCookieAuthenticator::principal_from_cookie`.
//!
//! Properties: nothing panics; a value `unsign` accepts is exactly what one
//! of the configured secrets signs (so it really carries a valid signature);
//! a principal's `sub` is non-empty, short and free of control characters;
//! with `CookieValue::Id` the subject is the signed value itself and never
//! comes from JSON, with `CookieValue::Json` it only comes from `j:` JSON.
//!
//! Random bytes almost never carry a valid HMAC, so half of the input space
//! builds a correctly signed cookie first and then lets the fuzzer tamper
//! with it, quote it, percent-encode it and surround it with other cookies.

#![no_main]

use std::sync::OnceLock;

use actix_web::http::header::{HeaderMap, HeaderValue, COOKIE};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use realtime_token::config::Secret;
use realtime_token::session::codec::CookieSigner;
use realtime_token::session::cookies::{find_cookie, percent_encode, MAX_COOKIE_VALUE};
use realtime_token::session::{CookieValue, SignedCookieAuthenticator, MAX_SUB_LEN};

const COOKIE_NAME: &str = "sid";
const NEW_SECRET: &str = "fuzz-secret-newest";
const OLD_SECRET: &str = "fuzz-secret-older";
const UNKNOWN_SECRET: &str = "fuzz-secret-unknown";

struct Fixture {
    /// Reading plain ids (the default) and reading `j:` JSON cookies.
    auth: SignedCookieAuthenticator,
    json_auth: SignedCookieAuthenticator,
    /// The accepting signer (both secrets) and one signer per secret.
    both: CookieSigner,
    each: [CookieSigner; 2],
    unknown: CookieSigner,
}

fn secrets() -> [Secret; 3] {
    [
        Secret::new(NEW_SECRET),
        Secret::new(""),
        Secret::new(OLD_SECRET),
    ]
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture {
        // The empty secret is skipped by `CookieSigner::new`.
        auth: SignedCookieAuthenticator::new(COOKIE_NAME, &secrets(), CookieValue::Id),
        json_auth: SignedCookieAuthenticator::new(COOKIE_NAME, &secrets(), CookieValue::Json),
        both: CookieSigner::new([NEW_SECRET, "", OLD_SECRET]),
        each: [
            CookieSigner::new([NEW_SECRET]),
            CookieSigner::new([OLD_SECRET]),
        ],
        unknown: CookieSigner::new([UNKNOWN_SECRET]),
    })
}

#[derive(Arbitrary, Debug)]
enum Input {
    /// Raw bytes, split on `\n` into several `Cookie` headers.
    Raw(Vec<u8>),
    /// A cookie signed by `secret` (0 newest, 1 older, else unknown), then mangled.
    Signed {
        value: String,
        json: bool,
        secret: u8,
        tamper: Vec<(u16, u8)>,
        truncate: Option<u16>,
        quote: bool,
        encode: bool,
        before: String,
        after: String,
    },
}

fuzz_target!(|input: Input| {
    let f = fixture();
    match input {
        Input::Raw(bytes) => {
            if let Ok(text) = std::str::from_utf8(&bytes) {
                check_cookie(f, text);
            }
            let mut headers = HeaderMap::new();
            for line in bytes.split(|&b| b == b'\n') {
                if let Ok(v) = HeaderValue::from_bytes(line) {
                    headers.append(COOKIE, v);
                }
            }
            check_headers(f, &headers);
        }
        Input::Signed {
            value,
            json,
            secret,
            tamper,
            truncate,
            quote,
            encode,
            before,
            after,
        } => {
            let value = if json {
                format!("j:{{\"sub\":{}}}", serde_json::Value::String(value))
            } else {
                value
            };
            let signer = match secret % 3 {
                0 => &f.each[0],
                1 => &f.each[1],
                _ => &f.unknown,
            };
            let mut cookie = signer.sign(&value).into_bytes();
            for (at, byte) in tamper.into_iter().take(4) {
                if !cookie.is_empty() {
                    let at = usize::from(at) % cookie.len();
                    cookie[at] = byte;
                }
            }
            if let Some(len) = truncate {
                cookie.truncate(usize::from(len));
            }
            let Ok(cookie) = String::from_utf8(cookie) else {
                return;
            };
            check_cookie(f, &cookie);
            let mut wire = if encode {
                percent_encode(&cookie)
            } else {
                cookie.clone()
            };
            if quote {
                wire = format!("\"{wire}\"");
            }
            let header = format!("{before}{COOKIE_NAME}={wire}{after}");
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&header) {
                headers.append(COOKIE, v);
            }
            check_headers(f, &headers);
        }
    }
});

fn check_headers(f: &Fixture, headers: &HeaderMap) {
    if let Some(cookie) = find_cookie(headers, COOKIE_NAME) {
        // Decoding only shrinks, and the raw value was capped.
        assert!(
            cookie.len() <= MAX_COOKIE_VALUE,
            "find_cookie returned {} bytes",
            cookie.len()
        );
        check_cookie(f, &cookie);
    }
}

fn check_cookie(f: &Fixture, cookie: &str) {
    // percent_encode then find_cookie's decoding is the identity (values
    // short enough to be read at all).
    let encoded = percent_encode(cookie);
    if encoded.len() + COOKIE_NAME.len() < MAX_COOKIE_VALUE {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_str(&format!("{COOKIE_NAME}={encoded}")).unwrap(),
        );
        assert_eq!(find_cookie(&headers, COOKIE_NAME).as_deref(), Some(cookie));
    }

    let unsigned = f.both.unsign(cookie);
    if let Ok(value) = unsigned {
        // Accepted ⇒ exactly what one of the configured secrets produces.
        assert!(
            f.each.iter().any(|s| s.sign(value) == cookie),
            "unsign accepted {cookie:?} as {value:?}, but no secret signs it that way"
        );
        assert!(
            f.unknown.unsign(cookie).is_err(),
            "an unknown secret accepted {cookie:?}"
        );
    }

    for (auth, json_mode) in [(&f.auth, false), (&f.json_auth, true)] {
        let Ok(p) = auth.principal_from_cookie(cookie) else {
            continue;
        };
        let value = unsigned.expect("a principal from a cookie unsign refuses");
        assert!(!p.sub.is_empty(), "empty sub from {cookie:?}");
        assert!(p.sub.len() <= MAX_SUB_LEN, "sub too long from {cookie:?}");
        assert!(
            !p.sub.chars().any(char::is_control),
            "control character in sub {:?}",
            p.sub
        );
        match (json_mode, value.strip_prefix("j:")) {
            (false, None) => {
                assert_eq!(p.sub, value);
                assert!(p.attributes.is_empty());
            }
            (true, Some(json)) => {
                let v: serde_json::Value = serde_json::from_str(json).expect("accepted JSON");
                assert_eq!(v.get("sub").and_then(|s| s.as_str()), Some(p.sub.as_str()));
                assert!(!p.attributes.contains_key("sub"));
            }
            (false, Some(_)) => panic!("a plain-id reader accepted the JSON value {value:?}"),
            (true, None) => panic!("a JSON reader accepted the plain value {value:?}"),
        }
    }
}

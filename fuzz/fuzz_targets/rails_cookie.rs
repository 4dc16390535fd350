//! `Cookie` header → `find_cookie` → `RailsCookie::open` (the `rails`
//! backend's AES-256-GCM cookie, its `_rails` envelope and the session JSON).
//!
//! Properties: nothing panics; a cookie is accepted only when it is exactly
//! what a configured key sealed (any edit of the value is refused); a sealed
//! envelope is accepted exactly when its purpose is `cookie.<name>`, its
//! expiry is absent or later than now, and its message is base64 of a JSON
//! object that is not Marshal data; the document returned is that object.
//!
//! Random bytes never carry a valid GCM tag, so most of the input space
//! seals an envelope built from the fuzzer's fields (or its raw text) with
//! the newest, the older or an unknown key, then lets the fuzzer edit it.

#![no_main]

use std::sync::OnceLock;

use actix_web::http::header::{HeaderMap, HeaderValue, COOKIE};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use realtime_token::session::codec::rails::{KeyDigest, RailsCookie};
use realtime_token::session::cookies::{find_cookie, percent_encode};
use realtime_token::session::mapping::parse_iso8601_utc;
use serde_json::{json, Value};

const NAME: &str = "_app_session";
const NOW: u64 = 1_800_000_000;

struct Fixture {
    /// Reads with the newest and the older secret_key_base.
    reader: RailsCookie,
    /// Seal with one key each: newest, older, unknown.
    sealers: [RailsCookie; 3],
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let one = |s: &str| RailsCookie::new(NAME, KeyDigest::Sha256, [s]);
        Fixture {
            reader: RailsCookie::new(NAME, KeyDigest::Sha256, ["fuzz-new", "fuzz-old"]),
            sealers: [one("fuzz-new"), one("fuzz-old"), one("fuzz-unknown")],
        }
    })
}

#[derive(Arbitrary, Debug)]
enum Input {
    /// Raw bytes, split on `\n` into several `Cookie` headers.
    Raw(Vec<u8>),
    /// A sealed plaintext, then edited.
    Sealed {
        key: u8,
        iv: [u8; 12],
        plaintext: Plaintext,
        tamper: Vec<(u16, u8)>,
        encode: bool,
    },
}

#[derive(Arbitrary, Debug)]
enum Plaintext {
    /// Any text (envelope parsing).
    Raw(Vec<u8>),
    /// `{"_rails":{"message":base64(message),"exp":exp,"pur":pur}}`.
    Envelope {
        right_purpose: bool,
        other_purpose: String,
        exp: Option<Exp>,
        message: Message,
    },
}

#[derive(Arbitrary, Debug)]
enum Exp {
    /// Seconds from NOW (negative: past), written as Rails writes it.
    Offset(i32),
    Text(String),
}

#[derive(Arbitrary, Debug)]
enum Message {
    /// A session object (string values keyed by strings).
    Session(Vec<(String, String)>),
    Marshal(Vec<u8>),
    Raw(Vec<u8>),
}

fn iso(secs: u64) -> String {
    let t = jiff_free_format(secs);
    format!("{t}.000Z")
}

/// `YYYY-MM-DDTHH:MM:SS` by Howard Hinnant's civil-from-days, written
/// independently of the parser under test.
fn jiff_free_format(secs: u64) -> String {
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let t = secs % 86_400;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

/// The plaintext and, for an envelope, the document it must yield (`None`:
/// it must be refused). Raw plaintexts make no prediction.
fn build(p: &Plaintext) -> (Vec<u8>, Option<Option<Value>>) {
    let Plaintext::Envelope { right_purpose, other_purpose, exp, message } = p else {
        let Plaintext::Raw(raw) = p else { unreachable!() };
        return (raw.clone(), None);
    };
    let purpose = if *right_purpose { format!("cookie.{NAME}") } else { other_purpose.clone() };
    let (exp_value, fresh) = match exp {
        None => (Value::Null, true),
        Some(Exp::Offset(off)) => {
            let at = NOW.saturating_add_signed(i64::from(*off));
            (json!(iso(at)), NOW < at)
        }
        Some(Exp::Text(t)) => (json!(t), parse_iso8601_utc(t).is_some_and(|at| NOW < at)),
    };
    let (bytes, doc) = match message {
        Message::Session(pairs) => {
            let obj: serde_json::Map<String, Value> =
                pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            let v = Value::Object(obj);
            (v.to_string().into_bytes(), Some(v))
        }
        Message::Marshal(rest) => ([b"\x04\x08".as_slice(), rest].concat(), None),
        Message::Raw(raw) => {
            let doc = match serde_json::from_slice::<Value>(raw) {
                Ok(v @ Value::Object(_)) if !raw.starts_with(b"\x04\x08") => Some(v),
                _ => None,
            };
            (raw.clone(), doc)
        }
    };
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let text = json!({"_rails": {"message": b64, "exp": exp_value, "pur": purpose}});
    let ok = purpose == format!("cookie.{NAME}") && fresh;
    (text.to_string().into_bytes(), Some(doc.filter(|_| ok)))
}

fuzz_target!(|input: Input| {
    let f = fixture();
    match input {
        Input::Raw(bytes) => {
            let mut headers = HeaderMap::new();
            for line in bytes.split(|&b| b == b'\n') {
                if let Ok(v) = HeaderValue::from_bytes(line) {
                    headers.append(COOKIE, v);
                }
            }
            if let Some(value) = find_cookie(&headers, NAME) {
                assert!(f.reader.open(&value, NOW).is_err(), "unsealed {value:?} accepted");
            }
        }
        Input::Sealed { key, iv, plaintext, tamper, encode } => {
            let (plain, expected) = build(&plaintext);
            let key = usize::from(key % 3);
            let sealed = f.sealers[key].seal(&plain, iv);
            let mut edited = sealed.clone().into_bytes();
            for (at, byte) in tamper.into_iter().take(4) {
                let at = usize::from(at) % edited.len();
                edited[at] = byte;
            }
            let Ok(edited) = String::from_utf8(edited) else { return };
            let result = f.reader.open(&edited, NOW);
            if result.is_ok() {
                assert_eq!(edited, sealed, "an edited cookie was accepted");
                assert!(key < 2, "a cookie sealed with an unknown key was accepted");
            }
            if edited == sealed && key < 2 {
                if let Some(expected) = expected {
                    assert_eq!(result.ok(), expected, "for {plain:?}");
                }
            }
            let wire = if encode { percent_encode(&edited) } else { edited.clone() };
            if let Ok(v) = HeaderValue::from_str(&format!("a=b; {NAME}={wire}")) {
                let mut headers = HeaderMap::new();
                headers.append(COOKIE, v);
                if let Some(found) = find_cookie(&headers, NAME) {
                    let again = f.reader.open(&found, NOW);
                    assert!(again.is_err() || found == sealed, "edited {found:?} accepted");
                }
            }
        }
    }
});

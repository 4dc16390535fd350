//! Cookie value → `FlaskSession::open` (signature, timestamp, zlib, tagged
//! JSON).
//!
//! Properties: nothing panics (malformed base64, zlib bombs, deep or odd
//! tagged JSON); an accepted cookie carries exactly the signature one of
//! the configured secrets accepts alone; an edited signed cookie is never
//! accepted; a codec with an unknown secret accepts nothing; an untouched cookie signed now around a plain JSON object
//! without tags is accepted as that object.
//!
//! Random bytes almost never carry a valid HMAC, so most inputs are signed
//! first (plain or compressed, at some age) and then tampered with.

#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use realtime_token::session::codec::flask::FlaskSession;

#[path = "../common/edit.rs"]
mod edit;
use edit::edit;

const NOW: u64 = 1_800_000_000;
const MAX_AGE: u64 = 3_600;

struct Fixture {
    both: FlaskSession,
    each: [FlaskSession; 2],
    unknown: FlaskSession,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    let age = Duration::from_secs(MAX_AGE);
    F.get_or_init(|| Fixture {
        both: FlaskSession::new("session", ["fuzz-new", "fuzz-old"], age),
        each: [
            FlaskSession::new("session", ["fuzz-new"], age),
            FlaskSession::new("session", ["fuzz-old"], age),
        ],
        unknown: FlaskSession::new("session", ["fuzz-unknown"], age),
    })
}

#[derive(Arbitrary, Debug)]
enum Input {
    Raw(String),
    Signed {
        json: Vec<u8>,
        compress: bool,
        secret: bool,
        age: i32,
        tamper: Vec<(u16, u8)>,
    },
}

fuzz_target!(|input: Input| {
    let f = fixture();
    match input {
        Input::Raw(cookie) => check(f, &cookie),
        Input::Signed {
            json,
            compress,
            secret,
            age,
            tamper,
        } => {
            let payload = FlaskSession::encode_payload(&json, compress);
            let signed_at = NOW.saturating_add_signed(-i64::from(age));
            let signer = &f.each[usize::from(secret)];
            let cookie = signer.sign(&payload, signed_at);
            if tamper.is_empty() {
                let plain = serde_json::from_slice::<serde_json::Value>(&json)
                    .ok()
                    .filter(|v| v.is_object() && !has_tag(v));
                if let (Some(doc), true) = (plain, (0..=MAX_AGE as i32).contains(&age)) {
                    assert_eq!(f.both.open(&cookie, NOW).ok(), Some(doc));
                }
            }
            let bytes = edit(cookie.clone().into_bytes(), tamper, None);
            if let Ok(tampered) = String::from_utf8(bytes) {
                check(f, &tampered);
                if f.both.open(&tampered, NOW).is_ok() {
                    assert_eq!(tampered, cookie, "an edited cookie was accepted");
                }
            }
        }
    }
});

/// Whether any object in `v` has a key starting with a space (a tag).
fn has_tag(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(m) => m.iter().any(|(k, v)| k.starts_with(' ') || has_tag(v)),
        serde_json::Value::Array(a) => a.iter().any(has_tag),
        _ => false,
    }
}

fn check(f: &Fixture, cookie: &str) {
    assert!(
        f.unknown.open(cookie, NOW).is_err(),
        "unknown secret accepted"
    );
    if f.both.open(cookie, NOW).is_ok() {
        assert!(
            f.each.iter().any(|s| s.open(cookie, NOW).is_ok()),
            "accepted {cookie:?} under no single secret"
        );
    }
}

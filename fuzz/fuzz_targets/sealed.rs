//! Encrypted session cookies → `AuthJs::open`, `NextAuth::open`,
//! `IronSession::unseal`.
//!
//! Properties: nothing panics on any input; and no edit of a real token
//! (one the library wrote: the codecs' test vectors) opens to another
//! document: an edited token is refused or, when the edit is invisible to
//! the decoder (e.g. unused base64 bits), opens to exactly the original
//! document. A forgery would need a valid tag (AES-GCM) or HMAC (CBC-HS512,
//! iron's HMAC-SHA256), which the fuzzer cannot make.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use realtime_token::session::codec::authjs::AuthJs;
use realtime_token::session::codec::iron_session::{passwords, IronSession};
use realtime_token::session::codec::next_auth::NextAuth;
use serde_json::Value;

const AUTH_SECRET: &str = "session-secret-new-0123456789abcdef";
const IRON_PASSWORD: &str = "0123456789abcdefghij0123456789abcdef";
const AUTHJS: &str = include_str!("../../src/session/codec/testdata/authjs.jwe");
const NEXT_AUTH: &str = include_str!("../../src/session/codec/testdata/next-auth.jwe");
const IRON: &str = include_str!("../../src/session/codec/testdata/iron-session.seal");
/// A time at which the test vectors are valid.
const NOW: u64 = 1_795_912_040;

#[derive(Arbitrary, Debug)]
struct Input {
    format: u8,
    raw: Option<String>,
    edits: Vec<(u16, u8)>,
    truncate: Option<u16>,
}

fuzz_target!(|input: Input| {
    let authjs = AuthJs::new("authjs.session-token", [AUTH_SECRET]);
    let next_auth = NextAuth::new("next-auth.session-token", [AUTH_SECRET]);
    let iron = IronSession::new("app_session", passwords([IRON_PASSWORD]).unwrap());
    let open = |token: &str| -> Option<Value> {
        match input.format % 3 {
            // Names are tried __Secure- first: 1 is the plain name the
            // vector was written for.
            0 => authjs.open(1, token, NOW).ok(),
            1 => next_auth.open(token, NOW).ok(),
            _ => iron.unseal(token, NOW * 1000).ok(),
        }
    };
    let original = [AUTHJS, NEXT_AUTH, IRON][usize::from(input.format % 3)].trim();
    let expected = open(original).expect("the test vector opens");
    let token = match &input.raw {
        Some(raw) => raw.clone(),
        None => {
            let mut bytes = original.as_bytes().to_vec();
            for &(at, byte) in input.edits.iter().take(4) {
                let at = usize::from(at) % bytes.len();
                bytes[at] = byte;
            }
            if let Some(len) = input.truncate {
                bytes.truncate(usize::from(len));
            }
            match String::from_utf8(bytes) {
                Ok(token) => token,
                Err(_) => return,
            }
        }
    };
    if let Some(doc) = open(&token) {
        assert_eq!(doc, expected, "an edited token opened to another document: {token:?}");
    }
});

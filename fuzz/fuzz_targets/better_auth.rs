//! better-auth's signed session cookie: Cookie header → `SessionIdCookie`
//! (better-call's `<token>.<signature>`, `__Secure-` name first) →
//! `BetterCallSigner::unsign` → the session id looked up in PostgreSQL.
//!
//! Properties: nothing panics; a session id comes out only when the cookie
//! read (the first present name, percent-decoded) is exactly
//! `<id>.<signature>` with the signature better-call writes for the id with
//! one of the configured secrets (HMAC-SHA256 keyed with the secret's bytes,
//! standard base64 with its padding; computed here independently), and the
//! id is non-empty, at most 256 bytes and free of control characters.
//!
//! Half of the input space signs a token first (plain or percent-encoded
//! as better-call writes it) and lets the fuzzer edit it.

#![no_main]

use actix_web::http::header::COOKIE;
use actix_web::test::TestRequest;
use arbitrary::Arbitrary;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use realtime_token::session::codec::better_auth::BetterCallSigner;
use realtime_token::session::codec::SessionIdCookie;
use realtime_token::session::cookies::find_cookie;
use sha2::Sha256;

#[path = "../common/edit.rs"]
mod edit;
use edit::edit;

const SECRETS: [&str; 2] = ["fuzz-better-auth-secret-new", "fuzz-better-auth-secret-old"];
const NAMES: [&str; 2] = [
    "__Secure-better-auth.session_token",
    "better-auth.session_token",
];

#[derive(Arbitrary, Debug)]
enum Input {
    /// A whole Cookie header.
    Raw(Vec<u8>),
    /// `<name>=<token>.<signature>` under a secret (or one not configured),
    /// percent-encoded or not, then edited.
    Signed {
        token: String,
        key: u8,
        secure: bool,
        encoded: bool,
        tamper: Vec<(u16, u8)>,
        truncate: Option<u16>,
        extra: Option<String>,
    },
}

/// better-call's signature of `value` (padded standard base64 of the MAC).
fn signature(secret: &str, value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(value.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `encodeURIComponent`.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fuzz_target!(|input: Input| {
    let header = match input {
        Input::Raw(bytes) => bytes,
        Input::Signed {
            token,
            key,
            secure,
            encoded,
            tamper,
            truncate,
            extra,
        } => {
            let secret = match key % 3 {
                0 => SECRETS[0],
                1 => SECRETS[1],
                _ => "fuzz-better-auth-secret-unknown",
            };
            let signed = format!("{token}.{}", signature(secret, &token));
            let value = if encoded { encode(&signed) } else { signed };
            let name = NAMES[usize::from(!secure)];
            let mut bytes = edit(format!("{name}={value}").into_bytes(), tamper, truncate);
            if let Some(extra) = extra {
                bytes.extend_from_slice(b"; ");
                bytes.extend_from_slice(extra.as_bytes());
            }
            bytes
        }
    };
    let Ok(value) = actix_web::http::header::HeaderValue::from_bytes(&header) else {
        return;
    };
    let req = TestRequest::default()
        .insert_header((COOKIE, value))
        .to_http_request();
    let reader = SessionIdCookie::better_call(
        NAMES.iter().map(|n| (*n).to_owned()).collect(),
        BetterCallSigner::new(SECRETS),
    );
    if let Ok(sid) = reader.session_id(&req) {
        let cookie = NAMES
            .iter()
            .find_map(|n| find_cookie(req.headers(), n))
            .expect("a session id comes from a cookie");
        assert!(
            SECRETS
                .iter()
                .any(|s| cookie == format!("{sid}.{}", signature(s, &sid))),
            "session id {sid:?} from {cookie:?}, which no secret signs"
        );
        assert!(
            !sid.is_empty() && sid.len() <= 256,
            "session id of {} bytes",
            sid.len()
        );
        assert!(
            !sid.chars().any(char::is_control),
            "control character in {sid:?}"
        );
    }
});

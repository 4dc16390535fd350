//! cookie-session's `<name>=<base64 JSON>` + `<name>.sig` → `CookieSession::open`.
//!
//! Properties: nothing panics; a pair that opens carries exactly keygrip's
//! signature of `<name>=<value>` with one of the keys (HMAC-SHA1, URL-safe
//! base64 without padding, computed here independently).

#![no_main]

use arbitrary::Arbitrary;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use realtime_token::session::codec::cookie_session::CookieSession;
use serde_json::json;
use sha1::Sha1;

#[path = "../common/edit.rs"]
mod edit;
use edit::edit;

const KEYS: [&str; 2] = ["fuzz-keygrip-key-new", "fuzz-keygrip-key-old"];

#[derive(Arbitrary, Debug)]
enum Input {
    Raw { value: String, sig: String },
    Signed { user: String, key: bool, tamper: Vec<(u16, u8)>, in_sig: bool },
}

fn keygrip(key: &str, value: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("session={value}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fuzz_target!(|input: Input| {
    let reader = CookieSession::new("session", KEYS);
    let (value, sig) = match input {
        Input::Raw { value, sig } => (value, sig),
        Input::Signed { user, key, tamper, in_sig } => {
            let writer = CookieSession::new("session", [KEYS[usize::from(key)]]);
            let value = CookieSession::encode(&json!({"userId": user}));
            let sig = writer.sign(&value);
            let bytes = edit(if in_sig { sig.clone() } else { value.clone() }.into_bytes(), tamper, None);
            let Ok(edited) = String::from_utf8(bytes) else { return };
            if in_sig { (value, edited) } else { (edited, sig) }
        }
    };
    if reader.open(&value, &sig).is_ok() {
        assert!(
            KEYS.iter().any(|k| keygrip(k, &value) == sig),
            "opened {value:?} with {sig:?}, which no key signs"
        );
    }
});

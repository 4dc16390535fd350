//! Django's signed session strings → `DjangoSigned::open`.
//!
//! Properties: nothing panics; a string that opens carries, after its last
//! `:`, exactly the signature Django writes for the rest with one of the
//! configured secrets (computed here independently: HMAC-SHA256 keyed with
//! `sha256(salt + "signer" + secret)`, URL-safe base64 without padding),
//! so nothing without a valid MAC ever yields a session.
//!
//! Half of the input space signs a document first and lets the fuzzer
//! tamper with it, since random bytes almost never carry a valid HMAC.

#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use realtime_token::session::codec::django::{DjangoSigned, COOKIE_SALT};
use serde_json::json;
use sha2::{Digest as _, Sha256};

#[path = "../common/edit.rs"]
mod edit;
use edit::edit;

const SECRETS: [&str; 2] = ["fuzz-django-secret-new", "fuzz-django-secret-old"];
const NOW: u64 = 1_800_000_000;

#[derive(Arbitrary, Debug)]
enum Input {
    Raw(String),
    Signed {
        user: String,
        key: bool,
        age: u32,
        tamper: Vec<(u16, u8)>,
        truncate: Option<u16>,
    },
}

fn canonical_signature(secret: &str, value: &str) -> String {
    let key = Sha256::new()
        .chain_update(COOKIE_SALT)
        .chain_update("signer")
        .chain_update(secret)
        .finalize();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fuzz_target!(|input: Input| {
    let reader = DjangoSigned::new(COOKIE_SALT, SECRETS, Some(Duration::from_secs(86_400)));
    let text = match input {
        Input::Raw(text) => text,
        Input::Signed { user, key, age, tamper, truncate } => {
            let writer = DjangoSigned::new(COOKIE_SALT, [SECRETS[usize::from(key)]], None);
            let signed = writer.sign(&json!({"_auth_user_id": user}), NOW - u64::from(age % 1_000_000));
            let bytes = edit(signed.into_bytes(), tamper, truncate);
            match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) => return,
            }
        }
    };
    if reader.open(&text, NOW).is_ok() {
        let (value, sig) = text.rsplit_once(':').expect("an opened string has a signature");
        assert!(
            SECRETS.iter().any(|s| canonical_signature(s, value) == sig),
            "opened {text:?} without a valid signature"
        );
    }
});

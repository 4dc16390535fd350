//! The token endpoint's JSON body: `serde_json::from_slice::<TokenRequest>`.
//!
//! Properties: nothing panics; a body that parses re-serialises (rooms and
//! attributes round-trip through JSON), every room can be validated, and
//! the rooms run through a typical policy's `authorize` (for the subject
//! and attributes in the body, as the admin path does) without panicking,
//! returning only requested rooms.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use realtime_token::policy::{pattern_covers, validate_room_pattern, RoomPolicy};
use realtime_token::routes::realtime_token::TokenRequest;
use realtime_token::session::Principal;
use serde_json::{Map, Value};

fn policy() -> &'static RoomPolicy {
    static P: OnceLock<RoomPolicy> = OnceLock::new();
    P.get_or_init(|| {
        RoomPolicy::new(
            RoomPolicy::parse_templates("document-*,user-{sub},org-{org}-*").unwrap(),
            RoomPolicy::parse_role_grants("admin=*;editor=team-{team}").unwrap(),
            "roles".into(),
        )
    })
}

fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<TokenRequest>(data) else {
        return;
    };
    if let Some(rooms) = &body.rooms {
        let text = serde_json::to_string(rooms).expect("rooms serialise");
        let back: Vec<String> = serde_json::from_str(&text).expect("rooms parse back");
        assert_eq!(&back, rooms);
        for room in rooms {
            let _ = validate_room_pattern(room);
        }
    }
    if let Some(attributes) = &body.attributes {
        let text = serde_json::to_string(attributes).expect("attributes serialise");
        let back: Map<String, Value> = serde_json::from_str(&text).expect("attributes parse back");
        // serde_json's default float parsing is fast, not exact: a number
        // past u64 (`333…337`) and its printed float can read back one ulp
        // apart. Such numbers are never substituted into rooms anyway.
        if !attributes.values().any(has_float) {
            assert_eq!(&back, attributes);
        }
    }
    let sub = body.sub.clone().unwrap_or_else(|| "fuzz-user".into());
    let Ok(principal) = Principal::new(sub, body.attributes.clone().unwrap_or_default()) else {
        return;
    };
    let grants = policy().grants(&principal);
    if let Ok(rooms) = policy().authorize(&principal, body.rooms.as_deref()) {
        for room in &rooms {
            if let Some(requested) = &body.rooms {
                assert!(requested.contains(room));
            }
            assert!(grants.iter().any(|g| pattern_covers(g, room)));
        }
    }
});

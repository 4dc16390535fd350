//! Room sources: whatever a source returns (any strings, or a failure), for
//! any env policy, subject and request, `Rooms::authorize` keeps the
//! property in `fuzz/common/rooms_check.rs`: a token's rooms are valid
//! patterns, each covered by an env grant or a valid source value; exactly
//! the rooms named, or everything granted up to `max`; a failing source
//! never yields a token.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

#[path = "../common/rooms_check.rs"]
mod rooms_check;

use rooms_check::{check, Case};

#[derive(Arbitrary, Debug)]
enum Requested {
    Raw(String),
    /// The n-th value of the answer, optionally with a suffix or a star.
    FromValue { index: u8, suffix: String, star: bool },
}

#[derive(Arbitrary, Debug)]
struct Input {
    env: String,
    sub: String,
    team: Option<String>,
    answer: Result<Vec<String>, ()>,
    requested: Option<Vec<Requested>>,
    max: u8,
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
}

fuzz_target!(|input: Input| {
    let values = input.answer.clone().unwrap_or_default();
    let requested = input.requested.map(|list| {
        list.into_iter()
            .map(|r| match r {
                Requested::Raw(s) => s,
                Requested::FromValue { index, suffix, star } => {
                    let base = values
                        .get(usize::from(index) % values.len().max(1))
                        .cloned()
                        .unwrap_or_default();
                    let mut room = format!("{}{suffix}", base.trim_end_matches('*'));
                    if star {
                        room.push('*');
                    }
                    room
                }
            })
            .collect()
    });
    let mut attributes = Map::new();
    if let Some(team) = input.team {
        attributes.insert("team".into(), Value::String(team));
    }
    let case = Case {
        env: input.env,
        sub: input.sub,
        attributes,
        answer: input.answer.map_err(|()| "down".to_owned()),
        requested,
        max: usize::from(input.max).max(1),
    };
    RUNTIME.with(|rt| rt.block_on(check(&case)));
});

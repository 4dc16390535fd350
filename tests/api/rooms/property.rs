//! The room source property (`fuzz/common/rooms_check.rs`, also the `rooms`
//! fuzz target) over many generated cases: values of every shape a source
//! could return (valid rooms and patterns, near misses, hostile text),
//! env policies with templates, requests derived from the values.

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::json;

#[path = "../../../fuzz/common/rooms_check.rs"]
mod rooms_check;

use rooms_check::{check, Case};

/// Pieces that build near-valid and hostile values.
const PIECES: &[&str] = &[
    "document-",
    "team-",
    "user-",
    "7",
    "42",
    "a",
    "Z",
    ":",
    "@",
    ".",
    "_",
    "-",
    "*",
    ",",
    " ",
    "é",
    "\u{0}",
    "\n",
    "'",
    "{sub}",
    "alice",
    "bob",
];
const ENVS: &[&str] = &[
    "",
    "document-*",
    "user-{sub}",
    "team-{team}:*",
    "*",
    "user-{sub},document-4*",
    "team-{team}:chat",
];
const SUBS: &[&str] = &["alice", "bob", "o'brien", "a,b", "x*", "team-7"];

fn text(rng: &mut StdRng) -> String {
    if rng.gen_ratio(1, 40) {
        return "x".repeat(rng.gen_range(120..140));
    }
    (0..rng.gen_range(0..5))
        .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
        .collect()
}

fn case(rng: &mut StdRng) -> Case {
    let values: Vec<String> = (0..rng.gen_range(0..12)).map(|_| text(rng)).collect();
    let answer = match rng.gen_ratio(1, 10) {
        true => Err("down".to_owned()),
        false => Ok(values.clone()),
    };
    let requested = rng.gen_ratio(2, 3).then(|| {
        (0..rng.gen_range(0..5))
            .map(|_| match (values.is_empty(), rng.gen_range(0..4)) {
                // A value as the source gave it, or a room inside it.
                (false, 0) => values[rng.gen_range(0..values.len())].clone(),
                (false, 1) => {
                    let v = &values[rng.gen_range(0..values.len())];
                    format!("{}{}", v.trim_end_matches('*'), text(rng))
                }
                _ => text(rng),
            })
            .collect()
    });
    let teams = ["7", "red", "a:b"];
    Case {
        env: ENVS[rng.gen_range(0..ENVS.len())].to_owned(),
        sub: SUBS[rng.gen_range(0..SUBS.len())].to_owned(),
        attributes: json!({"team": teams[rng.gen_range(0..teams.len())]})
            .as_object()
            .cloned()
            .unwrap(),
        answer,
        requested,
        max: rng.gen_range(1..8),
    }
}

#[tokio::test]
async fn whatever_a_source_returns_tokens_hold_only_covered_valid_rooms() {
    let mut rng = StdRng::seed_from_u64(20);
    for _ in 0..20_000 {
        check(&case(&mut rng)).await;
    }
}

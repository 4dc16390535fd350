//! The union of the env policy's grants and a room source's values: every
//! value validated as a room pattern, invalid ones dropped (counted, never
//! kept or echoed).

use std::collections::HashSet;

use crate::policy::{pattern_covers, pattern_problem, PatternProblem};

/// What [`merge`] dropped: how many values, and the first one's problem.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Values that are not room patterns.
    pub count: usize,
    /// Why the first of them is not.
    pub first: Option<PatternProblem>,
}

/// `env` followed by the valid `values` that are new: not a duplicate and
/// not inside an env grant (which already covers it in the token).
pub fn merge(env: Vec<String>, values: Vec<String>) -> (Vec<String>, Dropped) {
    let env_count = env.len();
    let mut granted = env;
    let mut seen: HashSet<String> = HashSet::new();
    let mut dropped = Dropped::default();
    for value in values {
        if let Some(problem) = pattern_problem(&value) {
            dropped.count += 1;
            dropped.first.get_or_insert(problem);
            continue;
        }
        let covered = granted[..env_count]
            .iter()
            .any(|g| pattern_covers(g, &value));
        if !covered && seen.insert(value.clone()) {
            granted.push(value);
        }
    }
    (granted, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn invalid_duplicate_and_covered_values_are_left_out() {
        let (granted, dropped) = merge(
            strings(&["user-bob", "team-*"]),
            strings(&[
                "document-1",
                "a,b",
                "document-1",
                "team-7",
                "",
                "do*c",
                "user-bob",
                "document-*",
            ]),
        );
        assert_eq!(
            granted,
            ["user-bob", "team-*", "document-1", "document-*"],
            "document-1 stays: the source's own patterns are not compared"
        );
        assert_eq!(dropped.count, 3);
        assert_eq!(dropped.first, Some(PatternProblem::Characters));
    }
}

//! A room source's values checked as room patterns (invalid ones dropped
//! and counted, never kept or echoed), and their union with the env
//! policy's grants.

use std::collections::HashSet;

use crate::policy::{pattern_covers, pattern_problem, PatternProblem};

/// What [`valid_values`] dropped: how many values, and the first one's
/// problem.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Values that are not room patterns.
    pub count: usize,
    /// Why the first of them is not.
    pub first: Option<PatternProblem>,
}

/// The values that are room patterns, in order, without duplicates.
pub fn valid_values(values: Vec<String>) -> (Vec<String>, Dropped) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut dropped = Dropped::default();
    let mut valid = Vec::new();
    for value in values {
        if let Some(problem) = pattern_problem(&value) {
            dropped.count += 1;
            dropped.first.get_or_insert(problem);
        } else if seen.insert(value.clone()) {
            valid.push(value);
        }
    }
    (valid, dropped)
}

/// `env` followed by the `values` it does not already cover (a value
/// inside an env grant adds nothing to the token).
pub fn merge(env: Vec<String>, values: &[String]) -> Vec<String> {
    let env_count = env.len();
    let mut granted = env;
    for value in values {
        let covered = granted[..env_count]
            .iter()
            .any(|g| pattern_covers(g, value));
        if !covered && !granted.contains(value) {
            granted.push(value.clone());
        }
    }
    granted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn invalid_duplicate_and_covered_values_are_left_out() {
        let (valid, dropped) = valid_values(strings(&[
            "document-1",
            "a,b",
            "document-1",
            "team-7",
            "",
            "do*c",
            "user-bob",
            "document-*",
        ]));
        assert_eq!(valid, ["document-1", "team-7", "user-bob", "document-*"]);
        assert_eq!(dropped.count, 3);
        assert_eq!(dropped.first, Some(PatternProblem::Characters));
        let granted = merge(strings(&["user-bob", "team-*"]), &valid);
        assert_eq!(
            granted,
            ["user-bob", "team-*", "document-1", "document-*"],
            "document-1 stays: the source's own patterns are not compared"
        );
    }
}

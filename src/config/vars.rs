//! Reading variables by name (empty counts as unset), collecting every
//! bad value as a [`ConfigError`] that names the variable and the fix, and
//! the readers several settings share (durations, cookie names).

use std::fmt;
use std::time::Duration;

use crate::token::parse_duration;

/// One invalid setting: the variable and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigError {
    pub(super) fn new(var: &'static str, message: impl Into<String>) -> Self {
        Self {
            var,
            message: message.into(),
        }
    }
}

/// Every invalid setting found, one per line when displayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl ConfigErrors {
    /// True when some error is about `var`.
    pub fn mentions(&self, var: &str) -> bool {
        self.0.iter().any(|e| e.var == var)
    }
}

/// Where the configuration reads a variable's value, by name (the names
/// are the code's own, so a reader can keep them).
pub type Lookup<'a> = dyn Fn(&'static str) -> Option<String> + 'a;

/// Reads variables by name; empty values count as unset.
pub(super) struct Vars<'a> {
    pub(super) lookup: &'a Lookup<'a>,
    pub(super) errors: Vec<ConfigError>,
}

impl Vars<'_> {
    pub(super) fn get(&self, var: &'static str) -> Option<String> {
        (self.lookup)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A secret exactly as set (not trimmed: a verifier elsewhere reads the
    /// raw value); unset when empty or only whitespace.
    pub(super) fn get_secret(&self, var: &'static str) -> Option<String> {
        (self.lookup)(var).filter(|v| !v.trim().is_empty())
    }

    /// Records an error (once: settings read by two modules are reported
    /// once).
    pub(super) fn fail(&mut self, var: &'static str, message: impl Into<String>) {
        let error = ConfigError::new(var, message);
        if !self.errors.contains(&error) {
            self.errors.push(error);
        }
    }

    /// Records an error and yields `None` when `result` is an error.
    pub(super) fn check<T>(&mut self, var: &'static str, result: Result<T, String>) -> Option<T> {
        result.map_err(|m| self.fail(var, m)).ok()
    }
}

/// `var` as a duration (`500ms`, `2s`), above zero and at most `max`;
/// `default` when unset or invalid (and then an error).
pub(super) fn read_duration(
    vars: &mut Vars,
    var: &'static str,
    default: Duration,
    max: Duration,
) -> Duration {
    let Some(text) = vars.get(var) else {
        return default;
    };
    let parsed = parse_duration(&text)
        .filter(|d| !d.is_zero() && *d <= max)
        .ok_or_else(|| {
            format!(
                "`{text}` is not a duration up to {}s; use e.g. `500ms` or `2s`",
                max.as_secs()
            )
        });
    vars.check(var, parsed).unwrap_or(default)
}

/// The comma-separated cookie names in `var` (none when unset); one that
/// is not a cookie name is an error naming it (`example` is a good one).
pub(super) fn read_cookie_names(vars: &mut Vars, var: &'static str, example: &str) -> Vec<String> {
    let names: Vec<String> = vars
        .get(var)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = names.iter().find(|n| !is_cookie_name(n)) {
        vars.fail(
            var,
            format!("`{bad}` is not a cookie name; list your app's session cookie names, e.g. {var}={example}"),
        );
    }
    names
}

pub(super) fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

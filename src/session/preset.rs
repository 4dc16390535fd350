//! Presets: what each `SESSION_BACKEND` value means when nothing else is
//! set. A new session format adds its line here (and its codec or store);
//! `config` reads the defaults from this table.

use std::time::Duration;

/// The defaults one `SESSION_BACKEND` value brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The `SESSION_BACKEND` value.
    pub name: &'static str,
    /// The session cookie's default name (`SESSION_COOKIE`; `upstream`
    /// forwards the whole `Cookie` header and does not read it).
    pub cookie: &'static str,
    /// The default JSON pointer to the user id (`SESSION_SUBJECT_POINTER`).
    pub subject_pointer: &'static str,
    /// The default `SESSION_CACHE_TTL` (zero: no cache).
    pub cache_ttl: Duration,
    /// Whether the cookie is signed with `SESSION_SECRET` by default.
    pub signed: bool,
}

/// Every built-in backend, the default first.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "signed-cookie",
        cookie: "session",
        subject_pointer: "/userId",
        cache_ttl: Duration::ZERO,
        signed: true,
    },
    Preset {
        name: "redis",
        cookie: "connect.sid",
        subject_pointer: "/userId",
        cache_ttl: Duration::ZERO,
        signed: true,
    },
    Preset {
        name: "postgres",
        cookie: "connect.sid",
        subject_pointer: "/userId",
        cache_ttl: Duration::ZERO,
        signed: true,
    },
    Preset {
        name: "upstream",
        cookie: "session",
        subject_pointer: "/id",
        cache_ttl: Duration::from_secs(2),
        signed: false,
    },
];

/// The preset called `name`, or `None` for an unknown backend.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The backend names, for error messages: `a, b, c or d`.
pub fn names() -> String {
    let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_comes_first_and_names_read_as_a_list() {
        assert_eq!(PRESETS[0].name, "signed-cookie");
        assert_eq!(names(), "signed-cookie, redis, postgres or upstream");
        assert_eq!(preset("upstream").unwrap().subject_pointer, "/id");
        assert!(preset("memcached").is_none());
    }
}

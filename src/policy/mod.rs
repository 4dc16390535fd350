//! Room policy: which room patterns a principal is granted.
//!
//! A room pattern is a name of safe characters (`A-Z a-z 0-9 - _ . : @`) with
//! at most one trailing `*`, or `*` alone. Grants are templates such as
//! `document-*`, `user-{sub}` or `org-{org}-*`; a substituted value that is
//! not made only of safe characters drops that grant instead of widening it.
//!
//! **Tenant boundary.** A value must also not contain the character that
//! follows its placeholder in the template (the separator): with
//! `org-{org}-*`, org `acme` gets `org-acme-*`, and an org called
//! `acme-corp` would otherwise be inside it. Because no value contains its
//! separator, each room names its values unambiguously: two principals
//! whose values differ never share a room through the same template. A
//! placeholder directly before the trailing `*` has no separator and is
//! refused when the template is parsed.

use serde_json::Value;

use crate::principal::Principal;

mod template;

pub use template::Template;

/// Longest room name or pattern accepted.
pub const MAX_ROOM_LEN: usize = 128;
/// Most rooms a request may ask for.
pub const MAX_REQUESTED_ROOMS: usize = 64;

pub(crate) fn is_safe_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'@')
}

/// Why a string is not a room pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternProblem {
    /// The empty string.
    Empty,
    /// Over [`MAX_ROOM_LEN`] bytes.
    TooLong,
    /// A character outside the safe set, or a `*` before the end.
    Characters,
}

impl PatternProblem {
    /// The reason, without the value (values from a room source are logged
    /// without their content).
    pub fn reason(self) -> &'static str {
        match self {
            Self::Empty => "is empty (or NULL)",
            Self::TooLong => "is over 128 characters",
            Self::Characters => "has characters outside `A-Za-z0-9-_.:@` or a `*` not at the end",
        }
    }
}

/// What is wrong with `pattern` as a room pattern, if anything.
pub fn pattern_problem(pattern: &str) -> Option<PatternProblem> {
    if pattern.is_empty() {
        return Some(PatternProblem::Empty);
    }
    if pattern.len() > MAX_ROOM_LEN {
        return Some(PatternProblem::TooLong);
    }
    let literal = pattern.strip_suffix('*').unwrap_or(pattern);
    (!literal.bytes().all(is_safe_byte)).then_some(PatternProblem::Characters)
}

/// Checks that `pattern` is `*`, or safe characters with an optional trailing `*`.
pub fn validate_room_pattern(pattern: &str) -> Result<(), String> {
    match pattern_problem(pattern) {
        None => Ok(()),
        Some(PatternProblem::Empty) => Err("a room name must not be empty".into()),
        Some(PatternProblem::TooLong) => Err(format!(
            "a room name is limited to {MAX_ROOM_LEN} characters"
        )),
        Some(PatternProblem::Characters) => Err(format!(
            "room `{}` may use only letters, digits, `-_.:@` and one trailing `*`",
            pattern.escape_default()
        )),
    }
}

/// True when `room` is one of the rooms `pattern` grants: `*` matches every
/// room, `prefix*` every room starting with `prefix`, anything else itself.
///
/// ```
/// use realtime_token::room_matches;
/// assert!(room_matches("document-*", "document-42"));
/// assert!(!room_matches("document-*", "user-7"));
/// assert!(room_matches("user-alice", "user-alice"));
/// ```
pub fn room_matches(pattern: &str, room: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => room.starts_with(prefix),
        None => pattern == room,
    }
}

/// True when every room matched by `requested` is matched by `granted`.
pub fn pattern_covers(granted: &str, requested: &str) -> bool {
    match granted.strip_suffix('*') {
        Some(prefix) => requested
            .strip_suffix('*')
            .unwrap_or(requested)
            .starts_with(prefix),
        None => granted == requested,
    }
}

/// Why a principal cannot have the rooms it asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The request's room list is malformed.
    #[error("{0}")]
    InvalidRooms(String),
    /// The policy grants this principal no room at all.
    #[error("no rooms are granted to this user")]
    NoRooms,
    /// A requested room is outside the policy.
    #[error("room `{0}` is not allowed for this user")]
    RoomNotAllowed(String),
}

/// Checks a request's room list: when present, not empty, at most
/// [`MAX_REQUESTED_ROOMS`], each a valid pattern.
pub fn check_requested(requested: Option<&[String]>) -> Result<(), PolicyError> {
    let Some(requested) = requested else {
        return Ok(());
    };
    if requested.is_empty() {
        return Err(PolicyError::InvalidRooms(
            "`rooms` must not be empty; omit it to get every granted room".into(),
        ));
    }
    if requested.len() > MAX_REQUESTED_ROOMS {
        return Err(PolicyError::InvalidRooms(format!(
            "at most {MAX_REQUESTED_ROOMS} rooms may be requested"
        )));
    }
    for room in requested {
        validate_room_pattern(room).map_err(PolicyError::InvalidRooms)?;
    }
    Ok(())
}

/// The token's rooms out of `granted`: all of them, or the `requested` ones
/// (checked by [`check_requested`]), each covered by a grant, without
/// duplicates. Nothing granted, when nothing is requested, is
/// [`PolicyError::NoRooms`]; a requested room is refused by name.
pub fn select(
    granted: Vec<String>,
    requested: Option<&[String]>,
) -> Result<Vec<String>, PolicyError> {
    let Some(requested) = requested else {
        return match granted.is_empty() {
            true => Err(PolicyError::NoRooms),
            false => Ok(granted),
        };
    };
    let mut rooms: Vec<String> = Vec::with_capacity(requested.len());
    for room in requested {
        if !granted.iter().any(|g| pattern_covers(g, room)) {
            return Err(PolicyError::RoomNotAllowed(room.clone()));
        }
        if !rooms.contains(room) {
            rooms.push(room.clone());
        }
    }
    Ok(rooms)
}

/// The env-driven room policy: default grants plus grants by role.
#[derive(Debug, Clone)]
pub struct RoomPolicy {
    defaults: Vec<Template>,
    roles: Vec<(String, Vec<Template>)>,
    role_attribute: String,
}

impl RoomPolicy {
    /// A policy from parsed parts; see [`RoomPolicy::parse_templates`] and
    /// [`RoomPolicy::parse_role_grants`].
    pub fn new(
        defaults: Vec<Template>,
        roles: Vec<(String, Vec<Template>)>,
        role_attribute: String,
    ) -> Self {
        Self {
            defaults,
            roles,
            role_attribute,
        }
    }

    /// Parses a comma-separated template list (`REALTIME_ROOMS`).
    pub fn parse_templates(list: &str) -> Result<Vec<Template>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(Template::parse)
            .collect()
    }

    /// Parses `role=template,template;role=...` (`REALTIME_ROLE_ROOMS`).
    pub fn parse_role_grants(spec: &str) -> Result<Vec<(String, Vec<Template>)>, String> {
        spec.split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|entry| {
                let (role, templates) = entry
                    .split_once('=')
                    .ok_or_else(|| format!("`{}` is not `role=rooms`", entry.escape_default()))?;
                let role = role.trim();
                if role.is_empty() || !role.bytes().all(is_safe_byte) {
                    return Err(format!(
                        "role name `{}` is not valid",
                        role.escape_default()
                    ));
                }
                Ok((role.to_owned(), Self::parse_templates(templates)?))
            })
            .collect()
    }

    /// Every room pattern granted to `principal`, without duplicates.
    pub fn grants(&self, principal: &Principal) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.defaults {
            t.expand(principal, &mut out);
        }
        if self.roles.is_empty() {
            return out;
        }
        let has_role = |role: &str| match principal.attributes.get(&self.role_attribute) {
            Some(Value::String(r)) => r == role,
            Some(Value::Array(rs)) => rs.iter().any(|r| r.as_str() == Some(role)),
            _ => false,
        };
        for (role, templates) in &self.roles {
            if has_role(role) {
                for t in templates {
                    t.expand(principal, &mut out);
                }
            }
        }
        out
    }

    /// The rooms to put in the token: all grants, or the requested subset.
    /// A requested room outside the grants is refused by name.
    pub fn authorize(
        &self,
        principal: &Principal,
        requested: Option<&[String]>,
    ) -> Result<Vec<String>, PolicyError> {
        check_requested(requested)?;
        select(self.grants(principal), requested)
    }

    /// True when the policy grants nothing to anyone (a room source then
    /// grants everything).
    pub fn is_empty(&self) -> bool {
        self.defaults.is_empty() && self.roles.is_empty()
    }

    /// The configured templates, for `check-config`.
    pub fn describe(&self) -> String {
        let list = |ts: &[Template]| {
            ts.iter()
                .map(|t| t.source.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut out = format!("defaults [{}]", list(&self.defaults));
        for (role, ts) in &self.roles {
            out.push_str(&format!(
                "; {}={role} → [{}]",
                self.role_attribute,
                list(ts)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn principal(sub: &str, attrs: Value) -> Principal {
        Principal {
            sub: sub.into(),
            attributes: attrs.as_object().cloned().unwrap_or_default(),
        }
    }

    fn policy(defaults: &str, roles: &str) -> RoomPolicy {
        RoomPolicy::new(
            RoomPolicy::parse_templates(defaults).unwrap(),
            RoomPolicy::parse_role_grants(roles).unwrap(),
            "roles".into(),
        )
    }

    #[test]
    fn matching_and_covering() {
        assert!(room_matches("*", "anything"));
        assert!(room_matches("doc-*", "doc-"));
        assert!(!room_matches("doc-1", "doc-12"));
        assert!(pattern_covers("doc-*", "doc-4*"));
        assert!(pattern_covers("doc-*", "doc-4"));
        assert!(!pattern_covers("doc-*", "*"));
        assert!(!pattern_covers("doc-4", "doc-4*"));
        assert!(pattern_covers("*", "*"));
    }

    #[test]
    fn patterns_are_validated() {
        for good in ["*", "doc-*", "user-a@b.c", "x:y_z"] {
            assert!(validate_room_pattern(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "do*c",
            "**",
            "a b",
            "a,b",
            "../x",
            "ü",
            &"a".repeat(129),
        ] {
            assert!(validate_room_pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn templates_substitute_safe_values_only() {
        let p = policy("document-*,user-{sub},org-{org}-*", "admin=*");
        let ok = principal("alice", json!({"org": "acme"}));
        assert_eq!(p.grants(&ok), ["document-*", "user-alice", "org-acme-*"]);
        for hostile in ["*", "a,b", "a b", "../x", "ａ", ""] {
            let bad = principal(hostile, json!({"org": hostile, "roles": "user"}));
            assert_eq!(p.grants(&bad), ["document-*"], "{hostile:?}");
        }
        let arrays = principal("bob", json!({"org": ["a", "b"], "roles": ["admin"]}));
        assert_eq!(
            p.grants(&arrays),
            ["document-*", "user-bob", "org-a-*", "org-b-*", "*"]
        );
    }

    #[test]
    fn values_containing_their_separator_drop_the_grant() {
        let p = policy("org-{org}-*,team-{team}.{sub}", "");
        let ok = principal("bob", json!({"org": "acme", "team": "red"}));
        assert_eq!(p.grants(&ok), ["org-acme-*", "team-red.bob"]);
        let dashed = principal("bob.x", json!({"org": "acme-corp", "team": "red.x"}));
        assert!(p.grants(&dashed).is_empty());
        // The last placeholder of an exact (non-wildcard) grant has no separator.
        assert_eq!(
            p.grants(&principal("bob.x", json!({"team": "red"}))),
            ["team-red.bob.x"]
        );
    }

    #[test]
    fn template_syntax_errors() {
        for bad in [
            "doc-{",
            "doc-{}",
            "{a}{b}",
            "a*b",
            "a,b",
            "{a-b}",
            "user-{sub}*",
            "{sub}*",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}

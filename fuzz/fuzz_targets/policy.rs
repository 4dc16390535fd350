//! Room policy: `RoomPolicy::parse_templates` / `parse_role_grants`, `grants`,
//! `authorize`, `validate_room_pattern`, `pattern_covers`, `room_matches`.
//!
//! Properties: nothing panics; every grant is a valid room pattern, appears
//! once, and is "no wider than the templates allow": some template that
//! applies to the principal (a default, or a role template for a role the
//! principal has) produces it with its literal parts unchanged, in order,
//! and each placeholder replaced by one of the principal's own values for
//! it (non-empty, only `A-Za-z0-9-_.:@`); a grant ending in `*` (or `*`
//! itself) only comes from a template ending in `*`. `authorize` returns
//! only requested rooms, each covered by a grant, and with no request,
//! exactly the grants.
//!
//! Tenant boundary (DESIGN.md): for a second principal (the first one with
//! some values edited, e.g. `acme` → `acme-corp`) and every template, no
//! pattern the template grants one matches a room that the template's
//! expansion gives the other, unless both come from the same values.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use realtime_token::policy::{
    pattern_covers, room_matches, validate_room_pattern, PolicyError, RoomPolicy, MAX_ROOM_LEN,
};
use realtime_token::session::Principal;
use serde_json::{Map, Value};

/// Names the fuzzer can pick cheaply, so placeholders meet attributes.
const NAMES: [&str; 6] = ["sub", "org", "roles", "team", "id", "x_1"];
const ROLES: [&str; 3] = ["admin", "user", "ops"];

#[derive(Arbitrary, Debug)]
enum Name {
    Known(u8),
    Other(String),
}

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Known(i) => NAMES[usize::from(*i) % NAMES.len()].to_owned(),
            Name::Other(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Piece {
    Lit(String),
    Var(Name),
    Star,
    Comma,
    Raw(String),
}

fn render(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Lit(s) | Piece::Raw(s) => out.push_str(s),
            Piece::Var(n) => {
                out.push('{');
                out.push_str(&n.text());
                out.push('}');
            }
            Piece::Star => out.push('*'),
            Piece::Comma => out.push(','),
        }
    }
    out
}

#[derive(Arbitrary, Debug)]
enum Scalar {
    Str(String),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Null,
}

impl Scalar {
    fn json(&self) -> Value {
        match self {
            Scalar::Str(s) => Value::String(s.clone()),
            Scalar::Int(i) => Value::from(*i),
            Scalar::UInt(u) => Value::from(*u),
            Scalar::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Null => Value::Null,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Attr {
    One(Scalar),
    Many(Vec<Scalar>),
    Role(u8),
    Roles(Vec<u8>),
    Object,
}

impl Attr {
    fn json(&self) -> Value {
        let role = |i: &u8| Value::from(ROLES[usize::from(*i) % ROLES.len()]);
        match self {
            Attr::One(s) => s.json(),
            Attr::Many(v) => Value::Array(v.iter().map(Scalar::json).collect()),
            Attr::Role(i) => role(i),
            Attr::Roles(v) => Value::Array(v.iter().map(role).collect()),
            Attr::Object => serde_json::json!({"a": "b"}),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct RoleSpec {
    role: Name,
    raw_role: Option<String>,
    templates: Vec<Piece>,
}

#[derive(Arbitrary, Debug)]
enum Request {
    Raw(String),
    /// Derived from the n-th grant: an optional suffix and/or star.
    FromGrant {
        index: u8,
        cut: u8,
        suffix: String,
        star: bool,
    },
}

/// How the second principal differs from the first.
#[derive(Arbitrary, Debug)]
enum Edit {
    /// Appends text to a value (`acme` → `acme-corp`); arrays: every item.
    Append(Name, String),
    /// Replaces a value.
    Replace(Name, Attr),
}

#[derive(Arbitrary, Debug)]
struct Input {
    defaults: Vec<Piece>,
    roles: Vec<RoleSpec>,
    role_attribute: Name,
    sub: String,
    attributes: Vec<(Name, Attr)>,
    requested: Option<Vec<Request>>,
    other: Vec<Edit>,
}

#[derive(Debug)]
enum Part {
    Lit(String),
    Var(String),
}

/// An independent reading of a template source that `Template::parse` accepted.
fn oracle_parts(source: &str) -> (Vec<Part>, bool) {
    let (body, wildcard) = match source.strip_suffix('*') {
        Some(b) => (b, true),
        None => (source, false),
    };
    let mut parts = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('{') {
            let end = after.find('}').expect("parse accepted an unclosed `{`");
            parts.push(Part::Var(after[..end].to_owned()));
            rest = &after[end + 1..];
        } else {
            let end = rest.find('{').unwrap_or(rest.len());
            parts.push(Part::Lit(rest[..end].to_owned()));
            rest = &rest[end..];
        }
    }
    (parts, wildcard)
}

fn is_safe(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ROOM_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'@'))
}

/// The values the principal allows for placeholder `name` (safe ones only).
fn allowed_values(p: &Principal, name: &str) -> Vec<String> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    };
    let all: Vec<String> = if name == "sub" {
        vec![p.sub.clone()]
    } else {
        match p.attributes.get(name) {
            Some(Value::Array(items)) => items.iter().filter_map(text).collect(),
            Some(v) => text(v).into_iter().collect(),
            None => vec![],
        }
    };
    all.into_iter().filter(|v| is_safe(v)).collect()
}

/// Every tuple of the principal's admissible values (one per placeholder,
/// in order) whose substitution into the template spells `grant` exactly.
/// Admissible (DESIGN.md, "Tenant boundary"): safe, and without the
/// character that follows the placeholder in the template.
fn decompositions(parts: &[Part], wildcard: bool, p: &Principal, grant: &str) -> Vec<Vec<String>> {
    let body = match (wildcard, grant.strip_suffix('*')) {
        (true, Some(b)) => b,
        (true, None) => return vec![],
        (false, _) => grant,
    };
    fn go(
        parts: &[Part],
        p: &Principal,
        rest: &str,
        tuple: &mut Vec<String>,
        out: &mut Vec<Vec<String>>,
    ) {
        match parts.split_first() {
            None => {
                if rest.is_empty() {
                    out.push(tuple.clone());
                }
            }
            Some((Part::Lit(l), tail)) => {
                if let Some(r) = rest.strip_prefix(l.as_str()) {
                    go(tail, p, r, tuple, out);
                }
            }
            Some((Part::Var(n), tail)) => {
                let separator = match tail.first() {
                    Some(Part::Lit(l)) => l.chars().next(),
                    _ => None,
                };
                for v in allowed_values(p, n) {
                    if separator.is_some_and(|c| v.contains(c)) {
                        continue;
                    }
                    if let Some(r) = rest.strip_prefix(v.as_str()) {
                        tuple.push(v.clone());
                        go(tail, p, r, tuple, out);
                        tuple.pop();
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    go(parts, p, body, &mut Vec::new(), &mut out);
    // An array attribute may repeat a value: the same tuple, found twice.
    out.sort();
    out.dedup();
    out
}

/// True when some room matches both patterns.
fn overlap(a: &str, b: &str) -> bool {
    match (a.strip_suffix('*'), b.strip_suffix('*')) {
        (Some(x), Some(y)) => x.starts_with(y) || y.starts_with(x),
        (Some(x), None) => b.starts_with(x),
        (None, Some(y)) => a.starts_with(y),
        (None, None) => a == b,
    }
}

/// The first principal with `edits` applied.
fn edited(p: &Principal, edits: &[Edit]) -> Principal {
    let mut q = p.clone();
    for edit in edits {
        match edit {
            Edit::Append(name, text) => {
                let name = name.text();
                if name == "sub" {
                    q.sub.push_str(text);
                    continue;
                }
                let append = |v: &mut Value| {
                    if let Value::String(s) = v {
                        s.push_str(text);
                    }
                };
                match q.attributes.get_mut(&name) {
                    Some(Value::Array(items)) => items.iter_mut().for_each(append),
                    Some(v) => append(v),
                    None => {}
                }
            }
            Edit::Replace(name, attr) => {
                let name = name.text();
                match (name.as_str(), attr.json()) {
                    ("sub", Value::String(s)) => q.sub = s,
                    ("sub", _) => {}
                    (_, v) => {
                        q.attributes.insert(name, v);
                    }
                }
            }
        }
    }
    q
}

/// The tenant-boundary property for one template source.
fn check_tenant_boundary(source: &str, a: &Principal, b: &Principal) {
    let single = |p: &Principal| {
        let templates = RoomPolicy::parse_templates(source).expect("accepted before");
        RoomPolicy::new(templates, vec![], "roles".into()).grants(p)
    };
    let (parts, wildcard) = oracle_parts(source);
    let (ga, gb) = (single(a), single(b));
    for x in &ga {
        let xs = decompositions(&parts, wildcard, a, x);
        assert_eq!(
            xs.len(),
            1,
            "{x:?} must come from {source:?} in exactly one way, not {xs:?}"
        );
        for y in &gb {
            if !overlap(x, y) {
                continue;
            }
            let ys = decompositions(&parts, wildcard, b, y);
            for tx in &xs {
                for ty in &ys {
                    assert_eq!(
                        tx, ty,
                        "{source:?}: {x:?} (values {tx:?}) overlaps {y:?} (values {ty:?})"
                    );
                }
            }
        }
    }
}

/// Does `grant` equal the template with every placeholder replaced by one of
/// the principal's allowed values? (Memoised over (part, offset).)
fn produces(parts: &[Part], wildcard: bool, p: &Principal, grant: &str) -> bool {
    let body = if wildcard {
        match grant.strip_suffix('*') {
            Some(b) => b,
            None => return false,
        }
    } else {
        grant
    };
    if body.contains('*') {
        return false;
    }
    let values: Vec<Vec<String>> = parts
        .iter()
        .map(|part| match part {
            Part::Lit(_) => vec![],
            Part::Var(n) => allowed_values(p, n),
        })
        .collect();
    let mut memo = vec![vec![None; body.len() + 1]; parts.len() + 1];
    fn go(
        i: usize,
        at: usize,
        parts: &[Part],
        values: &[Vec<String>],
        body: &str,
        memo: &mut Vec<Vec<Option<bool>>>,
    ) -> bool {
        if i == parts.len() {
            return at == body.len();
        }
        if let Some(r) = memo[i][at] {
            return r;
        }
        let rest = &body.as_bytes()[at..];
        let r = match &parts[i] {
            Part::Lit(l) => {
                rest.starts_with(l.as_bytes()) && go(i + 1, at + l.len(), parts, values, body, memo)
            }
            Part::Var(_) => values[i].iter().any(|v| {
                rest.starts_with(v.as_bytes()) && go(i + 1, at + v.len(), parts, values, body, memo)
            }),
        };
        memo[i][at] = Some(r);
        r
    }
    go(0, 0, parts, &values, body, &mut memo)
}

fn has_role(p: &Principal, attribute: &str, role: &str) -> bool {
    match p.attributes.get(attribute) {
        Some(Value::String(r)) => r == role,
        Some(Value::Array(rs)) => rs.iter().any(|r| r.as_str() == Some(role)),
        _ => false,
    }
}

fn split_templates(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fuzz_target!(|input: Input| {
    let defaults_src = render(&input.defaults);
    let role_src: String = input
        .roles
        .iter()
        .map(|r| {
            let role = r.raw_role.clone().unwrap_or_else(|| match &r.role {
                Name::Known(i) => ROLES[usize::from(*i) % ROLES.len()].to_owned(),
                Name::Other(s) => s.clone(),
            });
            format!("{role}={}", render(&r.templates))
        })
        .collect::<Vec<_>>()
        .join(";");

    let Ok(defaults) = RoomPolicy::parse_templates(&defaults_src) else {
        return;
    };
    let Ok(roles) = RoomPolicy::parse_role_grants(&role_src) else {
        return;
    };
    assert_eq!(defaults.len(), split_templates(&defaults_src).len());

    // The sources the oracle may use: every default, and role templates for
    // roles the principal has (read back from the accepted spec).
    let role_attribute = input.role_attribute.text();
    let mut attributes = Map::new();
    for (name, attr) in &input.attributes {
        attributes.insert(name.text(), attr.json());
    }
    // Built directly (not through Principal::new) so even subjects the
    // authenticators would refuse reach the policy.
    let principal = Principal {
        sub: input.sub.clone(),
        attributes,
    };
    let mut sources = split_templates(&defaults_src);
    let role_entries: Vec<(String, Vec<String>)> = role_src
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|e| {
            let (role, ts) = e.split_once('=').expect("accepted role entry");
            (role.trim().to_owned(), split_templates(ts))
        })
        .collect();
    assert_eq!(role_entries.len(), roles.len());
    for ((role, ts), (parsed_role, parsed)) in role_entries.iter().zip(&roles) {
        assert_eq!(role, parsed_role);
        assert_eq!(ts.len(), parsed.len());
        if has_role(&principal, &role_attribute, role) {
            sources.extend(ts.iter().cloned());
        }
    }
    let oracles: Vec<(Vec<Part>, bool)> = sources.iter().map(|s| oracle_parts(s)).collect();

    let other = edited(&principal, &input.other);
    let every_template = split_templates(&defaults_src)
        .into_iter()
        .chain(role_entries.iter().flat_map(|(_, ts)| ts.iter().cloned()));
    for source in every_template {
        check_tenant_boundary(&source, &principal, &other);
    }

    let policy = RoomPolicy::new(defaults, roles, role_attribute);
    let _ = policy.describe();
    let grants = policy.grants(&principal);

    for (i, g) in grants.iter().enumerate() {
        assert!(
            validate_room_pattern(g).is_ok(),
            "grant {g:?} is not a valid room pattern"
        );
        assert!(!grants[..i].contains(g), "grant {g:?} appears twice");
        let from: Vec<&String> = sources
            .iter()
            .zip(&oracles)
            .filter(|(_, (parts, wild))| produces(parts, *wild, &principal, g))
            .map(|(s, _)| s)
            .collect();
        assert!(
            !from.is_empty(),
            "grant {g:?} is wider than any applicable template {sources:?} allows"
        );
        if g.ends_with('*') {
            assert!(from.iter().any(|s| s.ends_with('*')));
        }
    }

    // authorize without a request: every grant, or NoRooms.
    match policy.authorize(&principal, None) {
        Ok(rooms) => assert_eq!(rooms, grants),
        Err(e) => {
            assert_eq!(e, PolicyError::NoRooms);
            assert!(grants.is_empty());
        }
    }

    let Some(requested) = input.requested else {
        return;
    };
    let requested: Vec<String> = requested
        .into_iter()
        .map(|r| match r {
            Request::Raw(s) => s,
            Request::FromGrant {
                index,
                cut,
                suffix,
                star,
            } => {
                let Some(g) = grants.get(usize::from(index) % grants.len().max(1)) else {
                    return suffix;
                };
                let mut room = g.clone();
                let keep = room.len().saturating_sub(usize::from(cut % 4));
                room.truncate(keep);
                room.push_str(&suffix);
                if star {
                    room.push('*');
                }
                room
            }
        })
        .collect();
    match policy.authorize(&principal, Some(&requested)) {
        Ok(rooms) => {
            assert!(!rooms.is_empty());
            for (i, room) in rooms.iter().enumerate() {
                assert!(requested.contains(room), "{room:?} was not requested");
                assert!(!rooms[..i].contains(room), "{room:?} returned twice");
                assert!(validate_room_pattern(room).is_ok());
                let covering: Vec<&String> =
                    grants.iter().filter(|g| pattern_covers(g, room)).collect();
                assert!(!covering.is_empty(), "{room:?} is covered by no grant");
                // Covering means: every room the request matches, a grant matches.
                let stem = room.strip_suffix('*').unwrap_or(room);
                for probe in [stem.to_owned(), format!("{stem}a"), format!("{stem}-z.9")] {
                    if room_matches(room, &probe) {
                        assert!(
                            covering.iter().any(|g| room_matches(g, &probe)),
                            "{room:?} matches {probe:?} but its grants {covering:?} do not"
                        );
                    }
                }
            }
            for room in &requested {
                assert!(rooms.contains(room), "{room:?} was dropped silently");
            }
        }
        Err(PolicyError::InvalidRooms(_)) => {
            assert!(
                requested.is_empty()
                    || requested.len() > realtime_token::policy::MAX_REQUESTED_ROOMS
                    || requested.iter().any(|r| validate_room_pattern(r).is_err())
            );
        }
        Err(PolicyError::NoRooms) => assert!(grants.is_empty()),
        Err(PolicyError::RoomNotAllowed(room)) => {
            assert!(requested.contains(&room));
            assert!(!grants.iter().any(|g| pattern_covers(g, &room)));
        }
    }
});

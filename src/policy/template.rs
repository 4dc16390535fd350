//! Room grant templates: `document-*`, `user-{sub}`, `org-{org}-*`, and
//! their expansion for one principal (the tenant-boundary rule included).

use serde_json::Value;

use super::{is_safe_byte, MAX_ROOM_LEN};
use crate::principal::Principal;

/// Most grants one template may expand to (array attributes multiply).
const MAX_EXPANSIONS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(String),
}

/// A grant with optional `{placeholders}`, e.g. `org-{org}-*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub(super) source: String,
    parts: Vec<Part>,
    wildcard: bool,
}

impl Template {
    /// Parses and validates one template.
    pub fn parse(source: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("room template `{}` {why}", source.escape_default());
        if source.is_empty() {
            return Err("empty room template".into());
        }
        let (body, wildcard) = match source.strip_suffix('*') {
            Some(body) => (body, true),
            None => (source, false),
        };
        let mut parts = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let end = after.find('}').ok_or_else(|| bad("has an unclosed `{`"))?;
                let name = &after[..end];
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(bad(
                        "has a placeholder that is not `{name}` of letters, digits, `_`",
                    ));
                }
                parts.push(Part::Var(name.to_owned()));
                rest = &after[end + 1..];
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let literal = &rest[..end];
                if !literal.bytes().all(is_safe_byte) {
                    return Err(bad("may use only letters, digits, `-_.:@`, `{placeholders}` and one trailing `*`"));
                }
                parts.push(Part::Literal(literal.to_owned()));
                rest = &rest[end..];
            }
        }
        if parts
            .windows(2)
            .any(|w| matches!(w, [Part::Var(_), Part::Var(_)]))
        {
            return Err(bad(
                "has two placeholders in a row, which makes the grant ambiguous",
            ));
        }
        if wildcard && matches!(parts.last(), Some(Part::Var(_))) {
            return Err(bad(
                "ends a placeholder with `*`, so `bob` would match `bobby`'s rooms; \
                 put a separator before the `*`, e.g. `user-{sub}:*`",
            ));
        }
        let literal_len: usize = parts
            .iter()
            .map(|p| match p {
                Part::Literal(l) => l.len(),
                Part::Var(_) => 1,
            })
            .sum();
        if literal_len + usize::from(wildcard) > MAX_ROOM_LEN {
            return Err(bad("is longer than a room name may be"));
        }
        Ok(Self {
            source: source.to_owned(),
            parts,
            wildcard,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether it ends in `*`.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// What it expands to for `principal`: none when a value is missing or
    /// unsafe (logged), several for an array attribute.
    pub fn expand_for(&self, principal: &Principal) -> Vec<String> {
        let mut out = Vec::new();
        self.expand(principal, &mut out);
        out
    }

    /// Appends this template's grants for `principal` to `out`. A missing
    /// or unsafe value drops the grant (and is logged), never widens it.
    pub(super) fn expand(&self, principal: &Principal, out: &mut Vec<String>) {
        let mut rooms = vec![String::new()];
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                Part::Literal(l) => rooms.iter_mut().for_each(|r| r.push_str(l)),
                Part::Var(name) => {
                    let separator = match self.parts.get(i + 1) {
                        Some(Part::Literal(l)) => l.bytes().next(),
                        _ => None,
                    };
                    let values = match substitution_values(principal, name, separator) {
                        Ok(values) => values,
                        Err(why) => {
                            log_dropped(&self.source, name, why);
                            return;
                        }
                    };
                    if rooms.len() * values.len() > MAX_EXPANSIONS {
                        log_dropped(&self.source, name, "expands to too many rooms");
                        return;
                    }
                    rooms = rooms
                        .iter()
                        .flat_map(|r| values.iter().map(move |v| format!("{r}{v}")))
                        .collect();
                }
            }
        }
        for mut room in rooms {
            if self.wildcard {
                room.push('*');
            }
            if room.len() > MAX_ROOM_LEN {
                log_dropped(&self.source, "-", "makes a room name that is too long");
            } else if !out.contains(&room) {
                out.push(room);
            }
        }
    }
}

fn log_dropped(template: &str, var: &str, why: &str) {
    // The value itself is never logged: it is user-controlled and may be large.
    log::warn!("room grant `{template}` dropped: placeholder `{var}` {why}");
}

/// The values a placeholder stands for: `sub`, or a string, integer or array
/// of those from the principal's attributes. Every value must be safe and
/// free of `separator`, the character that follows the placeholder.
fn substitution_values(
    principal: &Principal,
    name: &str,
    separator: Option<u8>,
) -> Result<Vec<String>, &'static str> {
    let one = |value: &Value| -> Result<String, &'static str> {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            _ => return Err("is not a string or integer"),
        };
        if text.is_empty() {
            return Err("is empty");
        }
        if text.len() > MAX_ROOM_LEN || !text.bytes().all(is_safe_byte) {
            return Err("has characters outside the safe set or is too long");
        }
        if separator.is_some_and(|sep| text.bytes().any(|b| b == sep)) {
            return Err("contains the separator that follows it in the template");
        }
        Ok(text)
    };
    if name == "sub" {
        return one(&Value::String(principal.sub.clone())).map(|v| vec![v]);
    }
    match principal.attributes.get(name) {
        None | Some(Value::Null) => Err("is not in the session"),
        Some(Value::Array(items)) if items.len() > MAX_EXPANSIONS => Err("has too many values"),
        Some(Value::Array(items)) => items.iter().map(one).collect(),
        Some(value) => one(value).map(|v| vec![v]),
    }
}

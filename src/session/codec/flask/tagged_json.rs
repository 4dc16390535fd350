//! Flask's `TaggedJSONSerializer` (flask/json/tag.py) read back into plain
//! JSON. Flask writes a Python value it cannot express in JSON as a
//! one-key object whose key is a tag; reading untags bottom-up, children
//! first, exactly as `_untag_scan` does. What each tag becomes here:
//!
//! - `" t"` (tuple): the array.
//! - `" m"` (Markup): the string.
//! - `" u"` (UUID, written as 32 hex digits): the hyphenated lower-case form.
//! - `" d"` (datetime, written as an HTTP date): RFC 3339 in UTC.
//! - `" b"` (bytes, standard base64): the text when it is UTF-8, otherwise
//!   the base64 as written.
//! - `" di"` (a one-key dict whose key is itself a tag): the dict with the
//!   `__` suffix Flask added to its key removed.
//!
//! A one-key object with any other key is left as it is, as Flask leaves
//! it. A known tag whose value Flask itself could not read (which makes
//! Flask fail the request) refuses the session.

use serde_json::{Map, Value};

use crate::b64;

/// Why a tagged value could not be read; the session is refused.
pub type UntagError = &'static str;

/// How deep Flask's own (recursive) reader would go before Python's
/// recursion limit; deeper documents are refused rather than recursed into.
const MAX_DEPTH: usize = 128;

/// The plain JSON for a document Flask's tagged serializer wrote.
pub fn untag(value: Value) -> Result<Value, UntagError> {
    untag_at(value, 0)
}

fn untag_at(value: Value, depth: usize) -> Result<Value, UntagError> {
    if depth > MAX_DEPTH {
        return Err("the session is nested too deeply");
    }
    match value {
        Value::Array(items) => items
            .into_iter()
            .map(|v| untag_at(v, depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Value::Object(map) => {
            let map = map
                .into_iter()
                .map(|(k, v)| Ok((k, untag_at(v, depth + 1)?)))
                .collect::<Result<Map<_, _>, UntagError>>()?;
            untag_object(map)
        }
        other => Ok(other),
    }
}

/// `TaggedJSONSerializer.untag` on an object whose children are untagged.
fn untag_object(map: Map<String, Value>) -> Result<Value, UntagError> {
    if map.len() != 1 {
        return Ok(Value::Object(map));
    }
    let (key, value) = map.iter().next().expect("one entry");
    let plain = match (key.as_str(), value) {
        (" t", Value::Array(_)) => value.clone(),
        (" t", _) => return Err("a tuple in the session is not a list"),
        (" m", Value::String(_)) => value.clone(),
        (" m", _) => return Err("markup in the session is not a string"),
        (" u", Value::String(s)) => {
            Value::String(uuid(s).ok_or("a UUID in the session is malformed")?)
        }
        (" u", _) => return Err("a UUID in the session is not a string"),
        (" d", Value::String(s)) => {
            Value::String(http_date(s).ok_or("a date in the session is malformed")?)
        }
        (" d", _) => return Err("a date in the session is not a string"),
        (" b", Value::String(s)) => {
            Value::String(bytes(s).ok_or("bytes in the session are not base64")?)
        }
        (" b", _) => return Err("bytes in the session are not a string"),
        (" di", Value::Object(inner)) if inner.len() == 1 => {
            let (k, v) = inner.iter().next().expect("one entry");
            // Flask drops the last two characters (`key[:-2]`), whatever they are.
            let cut = k.char_indices().rev().nth(1).map_or(0, |(i, _)| i);
            let mut out = Map::new();
            out.insert(k[..cut].to_owned(), v.clone());
            Value::Object(out)
        }
        (" di", _) => return Err("a tagged dict in the session is malformed"),
        _ => return Ok(Value::Object(map)),
    };
    Ok(plain)
}

/// Python's `UUID(s)`: braces, `urn:uuid:` and hyphens are ignored, then
/// exactly 32 hex digits.
fn uuid(s: &str) -> Option<String> {
    let s = s.strip_prefix("urn:").unwrap_or(s);
    let s = s.strip_prefix("uuid:").unwrap_or(s);
    let s = s.trim_matches(|c| c == '{' || c == '}');
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

/// Werkzeug's `http_date` output (RFC 2822, e.g. `Sun, 29 Nov 2026
/// 00:00:00 GMT`) as RFC 3339 UTC.
fn http_date(s: &str) -> Option<String> {
    let parser = jiff::fmt::rfc2822::DateTimeParser::new();
    parser.parse_timestamp(s).ok().map(|t| t.to_string())
}

/// `b64decode` (standard alphabet, padded) as UTF-8 text, or the base64
/// itself for binary bytes.
fn bytes(s: &str) -> Option<String> {
    let raw = b64::standard_decode(s).ok()?;
    Some(String::from_utf8(raw).unwrap_or_else(|_| s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn untags_flasks_tags_bottom_up_and_leaves_unknown_ones() {
        // What flask.json.tag.TaggedJSONSerializer().dumps() writes (Flask 3.1).
        let doc = json!({
            "t": {" t": [1, {" b": "aGk="}]},
            "u": {" u": "12345678123456781234567812345678"},
            "d": {" d": "Sun, 29 Nov 2026 00:00:00 GMT"},
            "m": {" m": "<b>x</b>"},
            "di": {" di": {" t__": {" t": ["a"]}}},
            "other": {" x": 1},
            "bin": {" b": "/w=="},
        });
        assert_eq!(
            untag(doc).unwrap(),
            json!({
                "t": [1, "hi"],
                "u": "12345678-1234-5678-1234-567812345678",
                "d": "2026-11-29T00:00:00Z",
                "m": "<b>x</b>",
                "di": {" t": ["a"]},
                "other": {" x": 1},
                "bin": "/w==",
            })
        );
    }

    #[test]
    fn refuses_tags_flask_could_not_read() {
        for bad in [
            json!({" u": "not-a-uuid"}),
            json!({" d": "yesterday"}),
            json!({" b": "***"}),
            json!({" t": "abc"}),
            json!({" di": {"a": 1, "b": 2}}),
        ] {
            assert!(untag(json!({ "k": bad })).is_err());
        }
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!([deep]);
        }
        assert!(untag(deep).is_err());
    }
}

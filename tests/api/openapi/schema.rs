//! Reading `openapi.yaml` and checking values against its schemas.

use serde_json::Value;

pub(super) fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("openapi.yaml at the repository root");
    serde_norway::from_str(&text).expect("openapi.yaml is YAML")
}

/// Follows `$ref`s (local JSON pointers only).
pub(super) fn deref<'a>(spec: &'a Value, mut v: &'a Value) -> &'a Value {
    while let Some(r) = v.get("$ref").and_then(Value::as_str) {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local $refs: {r}"));
        v = spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling $ref {r}"));
    }
    v
}

// ---------------------------------------------------------------- validator

/// Keywords the validator checks.
pub(super) const CHECKED: [&str; 14] = [
    "$ref",
    "oneOf",
    "type",
    "required",
    "properties",
    "additionalProperties",
    "enum",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
];
/// Keywords that do not constrain values.
pub(super) const ANNOTATIONS: [&str; 4] = ["description", "format", "example", "title"];

/// Validates `value` against `schema` (the subset of JSON Schema listed in
/// [`CHECKED`]; any other keyword fails the test rather than being ignored).
pub(super) fn validate(
    spec: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    errors: &mut Vec<String>,
) {
    let schema = deref(spec, schema);
    let obj = schema.as_object().expect("a schema is an object");
    for key in obj.keys() {
        assert!(
            CHECKED.contains(&key.as_str()) || ANNOTATIONS.contains(&key.as_str()),
            "{at}: the test's validator does not implement `{key}`; extend it"
        );
    }
    let got: String = value.to_string().chars().take(200).collect();
    if let Some(options) = obj.get("oneOf").and_then(Value::as_array) {
        let matching = options
            .iter()
            .filter(|option| {
                let mut option_errors = Vec::new();
                validate(spec, option, value, at, &mut option_errors);
                option_errors.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!(
                "{at}: matches {matching} of the oneOf schemas, not exactly one (got {got})"
            ));
        }
    }
    let mut fail = |what: String| errors.push(format!("{at}: {what} (got {got})"));
    if let Some(ty) = obj.get("type").and_then(Value::as_str) {
        let ok = match ty {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            other => panic!("{at}: unknown type {other}"),
        };
        if !ok {
            return fail(format!("not of type {ty}"));
        }
    }
    if let Some(allowed) = obj.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            fail(format!("not one of {allowed:?}"));
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if obj
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            fail("shorter than minLength".into());
        }
        if obj
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            fail("longer than maxLength".into());
        }
    }
    if let Some(n) = value.as_f64() {
        if obj
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n < m)
        {
            fail("below minimum".into());
        }
        if obj
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n > m)
        {
            fail("above maximum".into());
        }
    }
    if let Some(items) = value.as_array() {
        let len = items.len() as u64;
        if obj
            .get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            fail("fewer than minItems".into());
        }
        if obj
            .get("maxItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            fail("more than maxItems".into());
        }
        if let Some(item_schema) = obj.get("items") {
            for (i, item) in items.iter().enumerate() {
                validate(spec, item_schema, item, &format!("{at}[{i}]"), errors);
            }
        }
    }
    if let Some(map) = value.as_object() {
        let properties = obj.get("properties").and_then(Value::as_object);
        for name in obj
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap();
            if !map.contains_key(name) {
                errors.push(format!("{at}: `{name}` is required (got {got})"));
            }
        }
        for (name, v) in map {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => validate(spec, s, v, &format!("{at}.{name}"), errors),
                None => match obj.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errors.push(format!("{at}: `{name}` is not allowed (got {got})"))
                    }
                    Some(Value::Bool(true)) | None => {}
                    Some(s) => validate(spec, s, v, &format!("{at}.{name}"), errors),
                },
            }
        }
    }
}

/// A header's value as the JSON value its schema describes.
pub(super) fn header_value(schema: &Value, raw: &str) -> Value {
    match schema["type"].as_str() {
        Some("integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.to_owned())),
        _ => Value::String(raw.to_owned()),
    }
}

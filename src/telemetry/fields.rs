//! Free-text values in log records: quoted and escaped so that a value can
//! neither add a field nor start a new record.

use std::fmt::{self, Write as _};

/// A free-text value of a text-format `key=value` field. Printed as is when
/// it is only `[A-Za-z0-9._@:-]` (and not `-`, which means "none"),
/// otherwise as a double-quoted string with `"` and `\` backslash-escaped
/// and every character outside printable ASCII written as `\u{hex}` (line
/// breaks such as U+2028 included). No allocation either way.
pub struct TextValue<'a>(pub &'a str);

impl TextValue<'_> {
    fn is_plain(&self) -> bool {
        !self.0.is_empty()
            && self.0 != "-"
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b':' | b'-'))
    }
}

impl fmt::Display for TextValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if self.is_plain() {
            return f.write_str(s);
        }
        f.write_char('"')?;
        let mut start = 0;
        for (i, c) in s.char_indices() {
            if matches!(c, ' '..='~') && c != '"' && c != '\\' {
                continue;
            }
            f.write_str(&s[start..i])?;
            match c {
                '"' | '\\' => write!(f, "\\{c}")?,
                _ => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            }
            start = i + c.len_utf8();
        }
        f.write_str(&s[start..])?;
        f.write_char('"')
    }
}

/// `s` as a JSON string literal. serde_json leaves U+2028, U+2029 and U+0085
/// raw (valid JSON), but line-oriented tools and JavaScript before ES2019
/// break lines there, so they are escaped too.
pub fn json_string(s: &str) -> String {
    let json = serde_json::to_string(s).expect("strings serialize");
    if !json.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        return json;
    }
    json.replace('\u{85}', "\\u0085")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_stay_bare_and_the_rest_is_quoted_and_escaped() {
        for plain in ["alice", "user-1_a.b@example.com", "urn:x:42", "--"] {
            assert_eq!(TextValue(plain).to_string(), plain);
        }
        for (value, shown) in [
            ("", r#""""#),
            ("-", r#""-""#),
            ("bob ip=6.6.6.6 sub=admin", r#""bob ip=6.6.6.6 sub=admin""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("x\u{2028}y\u{2029}z", r#""x\u{2028}y\u{2029}z""#),
            ("jos\u{e9}\u{1f600}", r#""jos\u{e9}\u{1f600}""#),
            ("tab\there\u{7f}", r#""tab\u{9}here\u{7f}""#),
        ] {
            assert_eq!(TextValue(value).to_string(), shown, "{value:?}");
        }
    }

    #[test]
    fn json_strings_escape_unicode_line_breaks_and_round_trip() {
        let s = "a\u{2028}b\u{2029}c\u{85}d\"e\n\u{e9}";
        let json = json_string(s);
        assert!(
            !json.contains(['\u{85}', '\u{2028}', '\u{2029}', '\n']),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<String>(&json).unwrap(), s);
        assert_eq!(json_string("plain"), "\"plain\"");
    }
}

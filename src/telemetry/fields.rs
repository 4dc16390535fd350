//! Free-text values in log records: quoted and escaped so that a value can
//! neither add a field nor start a new record.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::net::IpAddr;

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

/// Appends `s` as [`TextValue`] shows it (no formatting machinery for a
/// plain value).
pub fn push_text_value(out: &mut Vec<u8>, s: &str) {
    let value = TextValue(s);
    if value.is_plain() {
        out.extend_from_slice(s.as_bytes());
    } else {
        let _ = write!(out, "{value}");
    }
}

/// Appends `s` as [`json_string`] returns it; without allocating when `s`
/// is printable ASCII that needs no escape.
pub fn push_json_string(out: &mut Vec<u8>, s: &str) {
    if s.bytes()
        .all(|b| matches!(b, b' '..=b'~') && b != b'"' && b != b'\\')
    {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(json_string(s).as_bytes());
    }
}

/// Appends `n` in decimal, as `Display` writes it.
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    // Statuses, octets and most durations: up to three digits, no loop.
    let digit = |d: u64| b'0' + d as u8;
    match n {
        0..=9 => out.push(digit(n)),
        10..=99 => out.extend_from_slice(&[digit(n / 10), digit(n % 10)]),
        100..=999 => out.extend_from_slice(&[digit(n / 100), digit(n / 10 % 10), digit(n % 10)]),
        _ => {
            let mut digits = [0u8; 20];
            let mut at = digits.len();
            while n > 0 {
                at -= 1;
                digits[at] = digit(n % 10);
                n /= 10;
            }
            out.extend_from_slice(&digits[at..]);
        }
    }
}

/// Appends `ip` as `Display` writes it (IPv4 without formatting machinery).
pub fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_decimal(out, u64::from(octet));
            }
        }
        IpAddr::V6(_) => {
            let _ = write!(out, "{ip}");
        }
    }
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

    #[test]
    fn pushed_values_are_what_display_and_json_string_write() {
        let texts = [
            "alice",
            "-",
            "",
            "bob ip=6.6.6.6 sub=admin",
            "a\"b\\c",
            "x\u{2028}y\u{85}z\n",
            "jos\u{e9}",
            "tab\there\u{7f}",
        ];
        for text in texts {
            let mut out = Vec::new();
            push_text_value(&mut out, text);
            assert_eq!(out, TextValue(text).to_string().into_bytes(), "{text:?}");
            out.clear();
            push_json_string(&mut out, text);
            assert_eq!(out, json_string(text).into_bytes(), "{text:?}");
        }
        for n in [0, 7, 10, 42, 99, 100, 255, 999, 1000, 1234567, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "255.255.255.255",
            "10.20.3.40",
            "::1",
            "2001:db8::ff00:42:8329",
            "::ffff:1.2.3.4",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut out = Vec::new();
            push_ip(&mut out, ip);
            assert_eq!(out, ip.to_string().into_bytes());
        }
    }
}

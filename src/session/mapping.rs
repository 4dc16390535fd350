//! The mapping from a session document (or a "who am I" answer) to a
//! principal: JSON pointers to the subject and attributes, and the expiry.

use serde_json::{Map, Value};

use super::SessionConfig;
use super::{Principal, SessionError};

/// Reads the subject and attributes out of a session (or "who am I") JSON
/// document by JSON pointers.
#[derive(Debug, Clone)]
pub struct SessionReader {
    subject: String,
    attributes: Vec<(String, String)>,
}

impl SessionReader {
    /// From the session settings.
    pub fn new(config: &SessionConfig) -> Self {
        Self {
            subject: config.subject_pointer.clone(),
            attributes: config.attribute_pointers.clone(),
        }
    }

    /// The principal in `doc`. `Err` carries why it has none: no subject
    /// (e.g. logged out), or a subject that is not a string or integer.
    pub fn principal(&self, doc: &Value) -> Result<Principal, &'static str> {
        let sub = match doc.pointer(&self.subject) {
            None | Some(Value::Null) => return Err("the session has no user"),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            Some(_) => return Err("the session's user id is not a string or integer"),
        };
        let mut attributes = Map::new();
        for (name, pointer) in &self.attributes {
            if let Some(value) = doc.pointer(pointer) {
                attributes.insert(name.clone(), value.clone());
            }
        }
        Principal::new(sub, attributes)
    }

    /// The principal in an express-session document: expired
    /// (`cookie.expires` in the past) or user-less sessions are refused.
    pub fn session_principal(&self, json: &str, now_unix: u64) -> Result<Principal, SessionError> {
        let doc: Value = serde_json::from_str(json)
            .map_err(|_| SessionError::Unavailable("the stored session is not JSON".into()))?;
        match doc.pointer("/cookie/expires") {
            None | Some(Value::Null) => {}
            Some(Value::String(expires)) => match parse_iso8601_utc(expires) {
                Some(at) if at > now_unix => {}
                Some(_) => return Err(SessionError::Unauthenticated("the session has expired")),
                None => {
                    return Err(SessionError::Unauthenticated(
                        "the session's expiry is unreadable",
                    ))
                }
            },
            Some(_) => {
                return Err(SessionError::Unauthenticated(
                    "the session's expiry is unreadable",
                ))
            }
        }
        self.principal(&doc).map_err(SessionError::Unauthenticated)
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (what `JSON.stringify(new Date())`
/// writes) to unix seconds.
pub fn parse_iso8601_utc(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    if *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let fraction = &text[19..text.len() - 1];
    if !(fraction.is_empty()
        || fraction.starts_with('.') && fraction[1..].bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=month_days).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm), for years >= 1970.
    let y = if mo <= 2 { y.checked_sub(1)? } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + h * 3_600 + mi * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(parse_iso8601_utc("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(
            parse_iso8601_utc("2026-11-28T10:11:06.123Z"),
            Some(1_795_860_666)
        );
        assert_eq!(parse_iso8601_utc("2000-02-29T12:00:00Z"), Some(951_825_600));
        for bad in [
            "",
            "2026-11-28",
            "2026-11-28T10:11:06+01:00",
            "2026-13-01T00:00:00Z",
            "yyyy-11-28T10:11:06Z",
        ] {
            assert_eq!(parse_iso8601_utc(bad), None, "{bad}");
        }
    }
}

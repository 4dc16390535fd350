//! The mapping from a session document (or a "who am I" answer) to a
//! principal: JSON pointers to the subject and attributes; and the dates
//! session documents carry.

use serde_json::{Map, Value};

use super::{Principal, SessionConfig};

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
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (what `JSON.stringify(new Date())`
/// writes; 1 to 9 fraction digits) to unix seconds. The shape is checked here; the calendar (month
/// lengths, leap years, days to seconds) is jiff's. Dates before 1970 and
/// impossible dates (February 30) are `None`; a leap second counts as the
/// next second.
pub fn parse_iso8601_utc(text: &str) -> Option<u64> {
    let body = text.strip_suffix('Z')?;
    let (date_time, fraction) = match body.split_once('.') {
        // A dot must be followed by 1 to 9 digits (`...:06.Z` is no date).
        Some((_, fraction)) if fraction.is_empty() || fraction.len() > 9 => return None,
        Some((date_time, fraction)) => (date_time, fraction),
        None => (body, ""),
    };
    let b = date_time.as_bytes();
    let shaped = b.len() == 19
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && fraction.bytes().all(|c| c.is_ascii_digit());
    if !shaped {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i16> {
        let digits = &date_time[r];
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let part = |r| num(r).and_then(|n| i8::try_from(n).ok());
    let (second, leap) = match part(17..19)? {
        60 => (59, 1),
        s => (s, 0),
    };
    let civil = jiff::civil::DateTime::new(
        num(0..4)?,
        part(5..7)?,
        part(8..10)?,
        part(11..13)?,
        part(14..16)?,
        second,
        0,
    )
    .ok()?;
    let at = jiff::tz::Offset::UTC.to_timestamp(civil).ok()?;
    u64::try_from(at.as_second()).ok().map(|secs| secs + leap)
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
            "2026-11-28T10:11:06.Z",
            "2026-11-28T10:11:06..1Z",
            "2026-11-28T10:11:06.1234567890Z",
        ] {
            assert_eq!(parse_iso8601_utc(bad), None, "{bad}");
        }
    }
}

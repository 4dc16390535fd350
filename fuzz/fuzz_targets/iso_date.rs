//! `parse_iso8601_utc` (session expiry in store-backed sessions).
//!
//! Properties: never panics; a timestamp it accepts for a year in
//! 1970..=9999 formats back to the same `YYYY-MM-DDTHH:MM:SS` (so it names
//! a real calendar date and time). Second 60 (a leap second) is allowed and
//! exempt from the round trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use realtime_token::session::mapping::parse_iso8601_utc;

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm),
/// written independently of the parser.
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    ((if m <= 2 { y + 1 } else { y }) as u64, m as u64, d as u64)
}

fn format(secs: u64) -> String {
    let (y, m, d) = civil(secs / 86_400);
    let t = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        t / 3_600,
        t / 60 % 60,
        t % 60
    )
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(secs) = parse_iso8601_utc(text) else {
        return;
    };
    // Accepted ⇒ at least `YYYY-MM-DDTHH:MM:SS` + `Z`, all ASCII up front.
    let head = text
        .get(..19)
        .expect("accepted text has 19 leading ASCII bytes");
    let year: u64 = head[..4].parse().expect("accepted year is digits");
    if !(1970..=9999).contains(&year) || &head[17..19] == "60" {
        return;
    }
    assert_eq!(
        format(secs),
        head,
        "parse_iso8601_utc({text:?}) = {secs}, which is not that date and time"
    );
});

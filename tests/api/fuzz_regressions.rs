//! Inputs found by `scripts/fuzz.sh` (cargo-fuzz targets in `fuzz/`), kept
//! as plain tests so a fix stays fixed.

use realtime_token::session::mapping::parse_iso8601_utc;

/// Found by the `iso_date` target: `parse_iso8601_utc` checked the day only
/// against 1..=31, so impossible dates (the 30th of February, the 29th of
/// February in a common year, the 31st of a 30-day month) were accepted and
/// silently rolled over into the next month, moving a session's expiry.
#[test]
fn iso_date_rejects_days_past_the_end_of_the_month() {
    for impossible in [
        "6132-02-30T20:01:20Z", // the fuzzer's first find
        "2615-02-29T12:00:00Z", // its second: 2615 is not a leap year
        "2026-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z", // divisible by 100, not by 400
        "2026-02-31T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-06-31T00:00:00.5Z",
        "2026-09-31T23:59:59Z",
        "2026-11-31T00:00:00Z",
    ] {
        assert_eq!(parse_iso8601_utc(impossible), None, "{impossible}");
    }
}

/// The valid neighbours of the cases above keep parsing.
#[test]
fn iso_date_accepts_the_last_day_of_every_month() {
    for (date, unix) in [
        ("2000-02-29T00:00:00Z", 951_782_400),
        ("2024-02-29T00:00:00Z", 1_709_164_800),
        ("2026-02-28T00:00:00Z", 1_772_236_800),
        ("2026-04-30T00:00:00Z", 1_777_507_200),
        ("2026-12-31T23:59:59.999Z", 1_798_761_599),
    ] {
        assert_eq!(parse_iso8601_utc(date), Some(unix), "{date}");
    }
}

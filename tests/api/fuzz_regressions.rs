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

/// Found by the `jwt_cookie` target: a header with `"crit": null` verified,
/// since jsonwebtoken's `Header` reads a null `crit` as none at all; the
/// fuzzer's token is HS512 under its secret, so the MAC was right.
#[test]
fn jwt_cookie_refuses_a_null_crit() {
    use realtime_token::session::codec::jwt::{JwtSettings, KeySource};
    let secret = "fuzz-jwt-cookie-secret-0123456789abcdef";
    let config = crate::support::config_with(&[
        ("SESSION_BACKEND", "jwt-cookie"),
        ("SESSION_COOKIE", "__session"),
        ("SESSION_JWT_KEY", secret),
        ("SESSION_JWT_ALGORITHMS", "HS256,HS512"),
    ])
    .unwrap();
    let settings = JwtSettings::from_config(&config.session).unwrap();
    let KeySource::Fixed(ring) = settings.keys else {
        panic!("a fixed key ring")
    };
    let found = "eyJhbGciOiJIUzUxMiIsImNyaXQiOm51bGx9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.lIQ1U2wXakJ__8g2uBRfoBZ64VxCzQurQSQd71eDGPnyp4DoouWWISqS_nm7gHama70opYBRyrReWyoDDF6DAg";
    assert!(settings.verifier.verify(found, &ring).is_err());
    // The same claims under a header without `crit` verify (exp is 2100).
    use hmac::{Hmac, Mac};
    let b64 = |b: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    };
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"HS512"}"#),
        found.split('.').nth(1).unwrap()
    );
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    let plain = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
    assert!(settings.verifier.verify(&plain, &ring).is_ok());
}

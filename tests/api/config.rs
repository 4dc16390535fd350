use crate::helpers::*;

fn error_for(overrides: &[(&str, &str)], var: &str) -> String {
    let errors = config_with(overrides).expect_err("config must be refused");
    assert!(errors.mentions(var), "{errors} should name {var}");
    errors.to_string()
}

#[test]
fn short_secret_is_refused_naming_the_variable_and_fix() {
    let msg = error_for(&[("JWT_SECRET", "too-short")], "JWT_SECRET");
    assert!(msg.contains("at least 32 bytes"), "{msg}");
    assert!(
        !msg.contains("too-short"),
        "the secret must not be echoed: {msg}"
    );
}

#[test]
fn test_jwt_secret_is_the_fallback() {
    let config = config_with(&[("JWT_SECRET", ""), ("TEST_JWT_SECRET", JWT_SECRET)]).unwrap();
    assert_eq!(config.jwt.secret.expose(), JWT_SECRET);
    let msg = error_for(
        &[("JWT_SECRET", ""), ("TEST_JWT_SECRET", "short")],
        "TEST_JWT_SECRET",
    );
    assert!(msg.contains("32"));
}

#[test]
fn bad_ttl_is_refused() {
    for ttl in ["forever", "0", "48h", "-1"] {
        error_for(&[("TOKEN_TTL", ttl)], "TOKEN_TTL");
    }
}

#[test]
fn bad_room_patterns_are_refused() {
    for rooms in ["doc*ument", "a b", "user-{sub", "{a}{b}"] {
        error_for(&[("REALTIME_ROOMS", rooms)], "REALTIME_ROOMS");
    }
    error_for(&[("REALTIME_ROLE_ROOMS", "admin")], "REALTIME_ROLE_ROOMS");
    error_for(&[("REALTIME_ROOMS", "")], "REALTIME_ROOMS");
}

#[test]
fn other_bad_values_name_their_variable() {
    error_for(&[("ALLOWED_ORIGINS", "*")], "ALLOWED_ORIGINS");
    error_for(
        &[("ALLOWED_ORIGINS", "https://app.example.com/")],
        "ALLOWED_ORIGINS",
    );
    error_for(&[("ADMIN_API_KEY", "short")], "ADMIN_API_KEY");
    error_for(&[("PORT", "http")], "PORT");
    error_for(&[("SESSION_SECRET", "")], "SESSION_SECRET");
    error_for(&[("SESSION_BACKEND", "memcached")], "SESSION_BACKEND");
    error_for(&[("SESSION_COOKIE", "a;b")], "SESSION_COOKIE");
    error_for(&[("WORKERS", "0")], "WORKERS");
}

#[test]
fn all_errors_are_reported_at_once() {
    let errors = config_with(&[
        ("JWT_SECRET", "x"),
        ("TOKEN_TTL", "x"),
        ("SESSION_SECRET", ""),
    ])
    .unwrap_err();
    for var in ["JWT_SECRET", "TOKEN_TTL", "SESSION_SECRET"] {
        assert!(errors.mentions(var), "{errors}");
    }
}

#[test]
fn debug_output_redacts_every_secret() {
    let config = config_with(&[("ADMIN_API_KEY", ADMIN_KEY)]).unwrap();
    let debug = format!("{config:?}");
    for secret in [JWT_SECRET, SESSION_SECRET, ADMIN_KEY] {
        assert!(!debug.contains(secret), "secret leaked in Debug");
    }
    assert!(debug.contains("redacted"));
}

#[test]
fn the_server_refuses_to_start_without_configuration() {
    let out = bin().arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("JWT_SECRET"), "{err}");
    assert!(err.contains("realtime-token dev"), "{err}");
}

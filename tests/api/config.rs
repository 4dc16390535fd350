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
    assert_eq!(config.jwt.signing_key().secret.expose(), JWT_SECRET);
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
fn backend_settings_are_checked_before_start() {
    error_for(&[("SESSION_BACKEND", "redis")], "REDIS_URL");
    error_for(
        &[
            ("SESSION_BACKEND", "redis"),
            ("REDIS_URL", "localhost:6379"),
        ],
        "REDIS_URL",
    );
    let msg = error_for(
        &[
            ("SESSION_BACKEND", "redis"),
            ("REDIS_URL", "rediss://:pw-secret@h:6380"),
        ],
        "REDIS_URL",
    );
    assert!(msg.contains("TLS") && !msg.contains("pw-secret"), "{msg}");
    error_for(&[("SESSION_BACKEND", "postgres")], "DATABASE_URL");
    let msg = error_for(
        &[
            ("SESSION_BACKEND", "postgres"),
            (
                "DATABASE_URL",
                "postgres://u:pw-secret@h/db?sslmode=require",
            ),
        ],
        "DATABASE_URL",
    );
    assert!(msg.contains("TLS") && !msg.contains("pw-secret"), "{msg}");
    let pg = [
        ("SESSION_BACKEND", "postgres"),
        ("DATABASE_URL", "postgres://u@h/db"),
    ];
    error_for(
        &[
            pg[0],
            pg[1],
            ("SESSION_PG_TABLE", "session; DROP TABLE users"),
        ],
        "SESSION_PG_TABLE",
    );
    error_for(&[("SESSION_BACKEND", "upstream")], "SESSION_UPSTREAM_URL");
    let up = [
        ("SESSION_BACKEND", "upstream"),
        ("SESSION_UPSTREAM_URL", "http://127.0.0.1:3000/me"),
    ];
    error_for(
        &[up[0], up[1], ("SESSION_UPSTREAM_HEADERS", "Authorization")],
        "SESSION_UPSTREAM_HEADERS",
    );
    error_for(
        &[up[0], up[1], ("SESSION_UPSTREAM_METHOD", "DELETE")],
        "SESSION_UPSTREAM_METHOD",
    );
    error_for(
        &[("SESSION_LOOKUP_TIMEOUT", "forever")],
        "SESSION_LOOKUP_TIMEOUT",
    );
    error_for(
        &[("SESSION_LOOKUP_TIMEOUT", "1h")],
        "SESSION_LOOKUP_TIMEOUT",
    );
    error_for(&[("SESSION_CACHE_TTL", "1d")], "SESSION_CACHE_TTL");
    error_for(&[("SESSION_ATTRIBUTES", "org")], "SESSION_ATTRIBUTES");
    error_for(
        &[("SESSION_SUBJECT_POINTER", "userId")],
        "SESSION_SUBJECT_POINTER",
    );
    error_for(&[("SESSION_COOKIE_SIGNED", "yes")], "SESSION_COOKIE_SIGNED");
    // The upstream backend needs no session secret; the URL's password stays out of Debug.
    let config = config_with(&[
        up[0],
        ("SESSION_UPSTREAM_URL", "http://u:hunter2@127.0.0.1/me"),
        ("SESSION_SECRET", ""),
    ])
    .unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
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

#[test]
fn env_example_filled_in_with_secrets_is_a_valid_configuration() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".env.example");
    let mut vars: std::collections::HashMap<String, String> = dotenvy::from_path_iter(&path)
        .unwrap()
        .map(|item| item.unwrap())
        .collect();
    vars.insert("JWT_SECRET".into(), JWT_SECRET.into());
    vars.insert("SESSION_SECRET".into(), SESSION_SECRET.into());
    let config = realtime_token::Config::from_lookup(&|k| vars.get(k).cloned()).expect("valid");
    assert_eq!(config.jwt.ttl.as_secs(), 3600);
    assert_eq!(config.session.cookie_name, "session");
    assert!(config.admin_api_key.is_none());
    // Every variable the code reads is in the example file.
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config.rs"),
    )
    .unwrap();
    for name in src.split('"').filter(|w| {
        w.len() > 3 && w.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') && w.contains('_')
    }) {
        if name == "TEST_JWT_SECRET" {
            continue;
        }
        assert!(
            vars.contains_key(name),
            "{name} is missing from .env.example"
        );
    }
}

use crate::support::*;

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
    assert_eq!(config.jwt.hmac_keys()[0].secret.expose(), JWT_SECRET);
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
            ("REDIS_URL", "redis://:pw-secret@h:6380"),
            ("REDIS_CA_FILE", "/nonexistent/ca.pem"),
        ],
        "REDIS_CA_FILE",
    );
    assert!(
        msg.contains("/nonexistent/ca.pem") && !msg.contains("pw-secret"),
        "{msg}"
    );
    error_for(&[("SESSION_BACKEND", "postgres")], "DATABASE_URL");
    for query in [
        "sslmode=verify-everything",
        "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    ] {
        let msg = error_for(
            &[
                ("SESSION_BACKEND", "postgres"),
                (
                    "DATABASE_URL",
                    &format!("postgres://u:pw-secret@h/db?{query}"),
                ),
            ],
            "DATABASE_URL",
        );
        assert!(msg.contains("ssl") && !msg.contains("pw-secret"), "{msg}");
    }
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
    // Every variable the configuration reads is in the example file.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config");
    let src: String = std::fs::read_dir(dir)
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
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
    // And every backend's own variables.
    for preset in realtime_token::session::preset::PRESETS {
        let own = preset
            .options
            .iter()
            .map(|o| o.name)
            .chain(preset.cookie_from.map(|(v, _)| v));
        for name in own {
            assert!(
                vars.contains_key(name),
                "{name} ({}) is missing from .env.example",
                preset.name
            );
        }
    }
}

#[test]
fn weak_or_mistyped_secrets_are_refused_without_echoing_them() {
    let repeated = "a".repeat(40);
    let spaced = format!(" {JWT_SECRET}");
    let trailing = format!("{JWT_SECRET}\n");
    let cases: &[(&str, &str)] = &[
        // The root of trust of the signed-cookie backend.
        ("SESSION_SECRET", "keyboard cat"),
        ("SESSION_SECRET", &repeated),
        ("JWT_SECRET", &repeated),
        ("ADMIN_API_KEY", &repeated),
        // Whitespace another program would keep: a different key.
        ("JWT_SECRET", &spaced),
        ("JWT_SECRET", &trailing),
        ("ADMIN_API_KEY", &trailing),
    ];
    for (var, value) in cases {
        let msg = error_for(&[(var, value)], var);
        assert!(
            !msg.contains(value.trim()),
            "{var}: the secret is echoed: {msg}"
        );
    }
    let rotation = format!("{SESSION_SECRET},{OLD_SESSION_SECRET} ");
    error_for(&[("SESSION_SECRET", &rotation)], "SESSION_SECRET");
    let keys = format!("k1:{JWT_SECRET} ,k2:{SESSION_SECRET}");
    error_for(&[("JWT_KEYS", &keys)], "JWT_KEYS");
}

#[test]
fn the_admin_key_must_differ_from_every_other_secret() {
    for other in [JWT_SECRET, SESSION_SECRET] {
        let msg = error_for(&[("ADMIN_API_KEY", other)], "ADMIN_API_KEY");
        assert!(msg.contains("use a value of its own"), "{msg}");
    }
}

#[test]
fn a_weak_secret_for_a_session_store_is_only_a_warning() {
    // The store must still know the session id, so this is not refused.
    let config = config_with(&[
        ("SESSION_BACKEND", "redis"),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("SESSION_SECRET", "keyboard cat"),
    ])
    .unwrap();
    let warnings = config.warnings().join("\n");
    assert!(warnings.contains("SESSION_SECRET"), "{warnings}");
    assert!(!warnings.contains("keyboard cat"), "{warnings}");
}

#[test]
fn a_short_auth_js_secret_is_warned_of_but_refused_for_cookie_formats_that_allow_none() {
    // Auth.js accepts short secrets, so an app that runs today keeps working.
    for backend in ["authjs", "next-auth"] {
        let config = config_with(&[
            ("SESSION_BACKEND", backend),
            ("SESSION_SECRET", "short secret 1"),
        ])
        .unwrap_or_else(|e| panic!("{backend}: {e}"));
        let warnings = config.warnings().join("\n");
        assert!(
            warnings.contains("SESSION_SECRET: secret 1 must be at least"),
            "{warnings}"
        );
        assert!(!warnings.contains("short secret 1"), "{warnings}");
    }
    error_for(
        &[
            ("SESSION_BACKEND", "cookie-session"),
            ("SESSION_SECRET", "short secret 1"),
        ],
        "SESSION_SECRET",
    );
}

#[test]
fn trusting_every_address_is_refused_and_public_proxies_warned_of() {
    for everyone in ["0.0.0.0/0", "::/0", "10.0.0.0/8,0.0.0.0/0", "::ffff:0:0/96"] {
        error_for(&[("TRUSTED_PROXIES", everyone)], "TRUSTED_PROXIES");
    }
    let config = config_with(&[("TRUSTED_PROXIES", "10.0.0.0/8,203.0.113.7")]).unwrap();
    let warnings = config.warnings().join("\n");
    assert!(warnings.contains("203.0.113.7"), "{warnings}");
    assert!(!warnings.contains("10.0.0.0/8"), "{warnings}");
}

#[test]
fn origins_a_browser_never_sends_are_refused() {
    for origin in [
        "https://App.example.com",
        "https://app.example.com:443",
        "http://localhost:80",
    ] {
        let msg = error_for(&[("ALLOWED_ORIGINS", origin)], "ALLOWED_ORIGINS");
        assert!(msg.contains("write `"), "{msg}");
    }
    let config = config_with(&[("ALLOWED_ORIGINS", "https://app.example.com.")]).unwrap();
    assert!(config.warnings().join("\n").contains("trailing dot"));
    assert!(config_with(&[("ALLOWED_ORIGINS", "https://app.example.com:8443")]).is_ok());
}

#[test]
fn check_config_reports_weak_settings_too() {
    let out = run_cli(&[("SESSION_SECRET", "keyboard cat")], &["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("SESSION_SECRET"), "{}", stderr(&out));
    let out = run_cli(&[("TRUSTED_PROXIES", "203.0.113.0/24")], &["check-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("warning: TRUSTED_PROXIES"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn hmac_session_jwt_keys_get_the_refusals_jwt_secret_gets() {
    let strong = "supabase-style-jwt-secret-0123456789abcdef";
    let trailing_newline = format!("{strong}\n");
    let weak: [(&str, String); 4] = [
        ("32 x a", "a".repeat(32)),
        ("password x 4", "password".repeat(4)),
        ("a trailing newline", trailing_newline),
        // 32 bytes, 16 characters.
        ("16 x é", "é".repeat(16)),
    ];
    let backends: [&[(&str, &str)]; 2] = [
        &[
            ("SESSION_BACKEND", "jwt-cookie"),
            ("SESSION_COOKIE", "__session"),
            ("SESSION_JWT_ALGORITHMS", "HS256"),
        ],
        &[
            ("SESSION_BACKEND", "supabase"),
            ("SUPABASE_URL", "https://abcd1234.supabase.co"),
        ],
    ];
    for backend in backends {
        for (what, key) in &weak {
            assert!(key.len() >= 32, "{what} passes a length check");
            let mut env = backend.to_vec();
            env.push(("SESSION_JWT_KEY", key));
            let msg = error_for(&env, "SESSION_JWT_KEY");
            assert!(
                msg.contains("openssl rand") || msg.contains("remove it"),
                "{what}: the fix is named: {msg}"
            );
            assert!(
                !msg.contains(key.trim()),
                "{what}: the key is echoed: {msg}"
            );
        }
        let mut env = backend.to_vec();
        env.push(("SESSION_JWT_KEY", strong));
        config_with(&env).unwrap_or_else(|e| panic!("{backend:?}: a strong key: {e}"));
    }
}

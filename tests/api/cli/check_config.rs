//! `check-config`: what it shows, what it redacts, when it fails.

use crate::support::*;

#[test]
fn check_config_redacts_secrets_and_fails_on_errors() {
    let out = run_cli(&[("ADMIN_API_KEY", ADMIN_KEY)], &["check-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("jwt issuer: test-app"), "{text}");
    assert!(text.contains("self-check"), "{text}");
    for secret in [JWT_SECRET, SESSION_SECRET, ADMIN_KEY] {
        assert!(!text.contains(secret), "secret leaked");
    }

    let out = run_cli(&[("SESSION_SECRET", JWT_SECRET)], &["check-config"]);
    assert!(stdout(&out).contains("warning: SESSION_SECRET equals the JWT secret"));

    let out = run_cli(&[("TOKEN_TTL", "soon")], &["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("TOKEN_TTL"));
}

/// `check-config`'s output with `extra`, once it passed and printed none of
/// `secrets` (nor the test's own).
fn check_config(extra: &[(&str, &str)], secrets: &[&str]) -> String {
    let out = run_cli(extra, &["check-config"]);
    assert!(out.status.success(), "{extra:?}: {}", stderr(&out));
    let text = stdout(&out);
    for secret in secrets.iter().chain(&[JWT_SECRET, SESSION_SECRET]) {
        assert!(
            !text.contains(secret),
            "{extra:?}: a secret is printed: {text}"
        );
    }
    text
}

fn has(text: &str, line: &str) -> bool {
    text.lines().any(|l| l.starts_with(line))
}

#[test]
fn check_config_shows_non_secret_backend_options_and_the_database() {
    let url = "postgres://app:pg-password-0123@db.internal:5433/appdb?sslmode=disable";
    let db = check_config(
        &[("SESSION_BACKEND", "django"), ("DATABASE_URL", url)],
        &["pg-password-0123", "app:"],
    );
    for line in [
        "session backend: django: postgres at postgres://db.internal:5433/appdb (table django_session",
        "session options: SESSION_DJANGO_ENGINE=db",
        "session cookie: sessionid (unsigned session id)",
    ] {
        assert!(has(&db, line), "{line}: {db}");
    }
    // A stored session expires in its row: SESSION_MAX_AGE does not apply.
    assert!(!db.contains("max age"), "{db}");

    let signed = check_config(
        &[
            ("SESSION_BACKEND", "django"),
            ("SESSION_DJANGO_ENGINE", "signed_cookies"),
        ],
        &[],
    );
    for line in [
        "session options: SESSION_DJANGO_ENGINE=signed_cookies",
        "session max age: 1209600 s",
        "session cookie: sessionid (signed)",
        "session secrets: [redacted, 1]",
    ] {
        assert!(has(&signed, line), "{line}: {signed}");
    }
    // Cookie formats look nothing up: no lookup timeout, no cache.
    assert!(!signed.contains("session cache") && !signed.contains("lookup timeout"));

    let hmac_key = "jwt-cookie-hmac-key-0123456789abcdef";
    let jwt = check_config(
        &[
            ("SESSION_BACKEND", "jwt-cookie"),
            ("SESSION_COOKIE", "__session"),
            ("SESSION_JWT_ALGORITHMS", "HS256"),
            ("SESSION_JWT_KEY", hmac_key),
            ("SESSION_JWT_ISSUER", "https://issuer.example.com"),
        ],
        &[hmac_key],
    );
    let options = "session options: SESSION_JWT_ALGORITHMS=HS256, SESSION_JWT_ISSUER=https://issuer.example.com, SESSION_JWT_KEY [set, redacted]";
    assert!(has(&jwt, options), "{jwt}");
    assert!(has(
        &jwt,
        "session cookie: __session (a JWT signed by its issuer's key)"
    ));
    // SESSION_SECRET is not used by jwt-cookie, so it is not listed.
    assert!(!jwt.contains("session secrets"), "{jwt}");

    let jwks = check_config(
        &[
            ("SESSION_BACKEND", "jwt-cookie"),
            ("SESSION_COOKIE", "__session"),
            ("SESSION_JWT_ALGORITHMS", "RS256"),
            (
                "SESSION_JWKS_URL",
                "https://user:jwks-password@clerk.example.com/.well-known/jwks.json?key=query-secret",
            ),
        ],
        &["jwks-password", "query-secret", "user:"],
    );
    let url = "SESSION_JWKS_URL=https://clerk.example.com:443/.well-known/jwks.json";
    assert!(jwks.contains(url), "{jwks}");
    assert!(has(&jwks, "session lookup timeout: "), "{jwks}");

    let redis = check_config(
        &[
            ("SESSION_BACKEND", "redis"),
            ("REDIS_URL", "redis://:redis-password-0123@127.0.0.1:6379/3"),
        ],
        &["redis-password-0123"],
    );
    assert!(
        has(
            &redis,
            "session backend: redis: redis at redis://127.0.0.1:6379/3 "
        ),
        "{redis}"
    );
    assert!(has(
        &redis,
        "session cookie: connect.sid (signed session id)"
    ));

    let rails = check_config(
        &[
            ("SESSION_BACKEND", "rails"),
            ("SESSION_COOKIE", "_app_session"),
            ("SESSION_RAILS_KEY_DIGEST", "sha1"),
        ],
        &[],
    );
    assert!(
        has(&rails, "session options: SESSION_RAILS_KEY_DIGEST=sha1"),
        "{rails}"
    );
}

#[test]
fn check_config_says_encrypted_and_which_variable_held_the_secret() {
    let name = [("SESSION_COOKIE", "app-session")];
    for backend in ["authjs", "next-auth", "iron-session", "rails"] {
        let text = check_config(&[("SESSION_BACKEND", backend), name[0]], &[]);
        assert!(
            has(&text, "session cookie: app-session (encrypted)"),
            "{backend}: {text}"
        );
    }
    let text = check_config(&[("SESSION_BACKEND", "cookie-session")], &[]);
    assert!(has(&text, "session cookie: session (signed)"), "{text}");

    // Auth.js's own AUTH_SECRET supplies the secret when SESSION_SECRET is unset.
    let auth_secret = "auth-js-secret-0123456789abcdef-0123";
    let text = check_config(
        &[
            ("SESSION_BACKEND", "authjs"),
            ("SESSION_SECRET", ""),
            ("AUTH_SECRET", auth_secret),
        ],
        &[auth_secret],
    );
    assert!(
        has(&text, "session secrets: [redacted, 1] (from AUTH_SECRET)"),
        "{text}"
    );
    let text = check_config(&[("SESSION_BACKEND", "authjs")], &[]);
    assert!(has(&text, "session secrets: [redacted, 1]") && !text.contains("(from "));
    // And its warnings name the variable that held it.
    let text = check_config(
        &[
            ("SESSION_BACKEND", "authjs"),
            ("SESSION_SECRET", ""),
            ("AUTH_SECRET", "short auth secret"),
        ],
        &["short auth secret"],
    );
    assert!(
        has(
            &text,
            "warning: AUTH_SECRET: secret 1 must be at least 32 bytes"
        ),
        "{text}"
    );
}

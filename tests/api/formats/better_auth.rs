//! `SESSION_BACKEND=better-auth`: sessions made by the real better-auth
//! (`tests/formats/better-auth/write.mjs`: sign-up or sign-in through
//! `auth.api`) on its PostgreSQL adapter, in the test database.

use serde_json::{json, Value};

use crate::support::*;

const MODULES: &[&str] = &["better-auth", "pg"];
const OTHER_SECRET: &str = "better-auth-other-secret-0123456789abcdef";

/// A schema of the test's own for better-auth's tables (`user`, `session`,
/// ...), so writers of parallel tests never migrate the same one.
fn schema() -> PgSchema {
    PgSchema::unique("rt_better_auth_")
}

/// Writes `cases` with better-auth into `schema`; the cookies and each
/// session's user id.
fn write(schema: &PgSchema, cases: Value) -> (Vec<String>, Vec<Value>) {
    let request = json!({"database_url": database_url(), "schema": schema.name, "cases": cases});
    let answer = node_writer("better-auth", MODULES, &request);
    let subjects = answer["subjects"].as_array().expect("subjects").clone();
    (cookies(&answer), subjects)
}

/// The app on better-auth's table in `schema`; `secret_var` holds `secrets`.
async fn better_auth_app(schema: &PgSchema, secret_var: &str, secrets: &str) -> TestApp {
    let url = database_url();
    let table = format!("{}.session", schema.name);
    let unset = if secret_var == "SESSION_SECRET" {
        "BETTER_AUTH_SECRET"
    } else {
        "SESSION_SECRET"
    };
    spawn_app_with(&[
        ("SESSION_BACKEND", "better-auth"),
        (unset, ""),
        (secret_var, secrets),
        ("DATABASE_URL", url.as_str()),
        ("SESSION_PG_TABLE", table.as_str()),
        ("SESSION_ATTRIBUTES", "agent=/userAgent"),
        ("REALTIME_ROOMS", "document-*,user-{sub},agent-{agent}:*"),
    ])
    .await
}

#[tokio::test]
async fn sessions_yield_their_user_until_sign_out_or_expiry() {
    let email = |tag: &str| format!("{}@example.com", unique(tag));
    let (alice, bob) = (email("alice"), email("bob"));
    let schema = schema();
    let (written, subjects) = write(
        &schema,
        json!([
            {"secret": SESSION_SECRET, "email": alice, "agent": "acme"},
            {"secret": SESSION_SECRET, "email": alice, "secure": true},
            {"secret": SESSION_SECRET, "email": alice, "then": "sign-out"},
            {"secret": SESSION_SECRET, "email": alice, "then": "expire"},
            {"secret": OTHER_SECRET, "email": bob},
            {"secret": OLD_SESSION_SECRET, "email": bob},
        ]),
    );
    let [good, secure, signed_out, expired, other_secret, old_secret] = written.as_slice() else {
        panic!("six cookies: {written:?}")
    };
    assert!(
        secure.starts_with("__Secure-better-auth.session_token="),
        "{secure}"
    );
    let app = better_auth_app(&schema, "SESSION_SECRET", SESSION_SECRET).await;

    let (_, claims) = expect_token(app.post_token(Some(secure)).await).await;
    assert_eq!(Some(claims.sub.as_str()), subjects[1].as_str());

    // The token stays, one character of the signature changes
    let (token, sig) = good.rsplit_once('.').expect("signed");
    // (the first letter or digit: the signature is percent-encoded).
    let at = sig
        .find(|c: char| c.is_ascii_alphanumeric())
        .expect("a letter");
    let swap = if sig[at..].starts_with('A') { "B" } else { "A" };
    let tampered = format!("{token}.{}{swap}{}", &sig[..at], &sig[at + 1..]);
    // The bare token, as if SESSION_COOKIE_SIGNED were off.
    let unsigned = token.to_owned();
    let refused = [
        &tampered,
        &unsigned,
        signed_out,
        expired,
        other_secret,
        old_secret,
    ];
    let cases = Cases {
        good,
        sub: subjects[0].as_str().expect("a subject"),
        rooms: &["agent-acme:*"],
        refused: refused.map(String::clone).to_vec(),
        no_user: None,
    };
    accept_refuse(&app, cases).await;

    // Rotation: the old secret second.
    let rotated = better_auth_app(
        &schema,
        "SESSION_SECRET",
        &format!("{SESSION_SECRET},{OLD_SESSION_SECRET}"),
    )
    .await;
    let (_, claims) = expect_token(rotated.post_token(Some(old_secret)).await).await;
    assert_eq!(Some(claims.sub.as_str()), subjects[5].as_str());
    let (_, claims) = expect_token(rotated.post_token(Some(good)).await).await;
    assert_eq!(Some(claims.sub.as_str()), subjects[0].as_str());

    // BETTER_AUTH_SECRET stands in for an unset SESSION_SECRET.
    let fallback = better_auth_app(&schema, "BETTER_AUTH_SECRET", SESSION_SECRET).await;
    let (_, claims) = expect_token(fallback.post_token(Some(good)).await).await;
    assert_eq!(Some(claims.sub.as_str()), subjects[0].as_str());
    fallback.expect_unauthenticated(old_secret).await;

    // No subject where the pointer looks: a column the table lacks, or the
    // token, which the document leaves out.
    let (url, table) = (database_url(), format!("{}.session", schema.name));
    for pointer in ["/activeOrganizationId", "/token"] {
        let app = spawn_app_with(&[
            ("SESSION_BACKEND", "better-auth"),
            ("DATABASE_URL", url.as_str()),
            ("SESSION_PG_TABLE", table.as_str()),
            ("SESSION_SUBJECT_POINTER", pointer),
        ])
        .await;
        app.expect_unauthenticated(good).await;
    }
}

#[tokio::test]
async fn an_unreachable_database_is_503() {
    let schema = schema();
    let (written, _) = write(
        &schema,
        json!([{"secret": SESSION_SECRET, "email": format!("{}@example.com", unique("carol"))}]),
    );
    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "better-auth"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/test"),
        ("SESSION_LOOKUP_TIMEOUT", "300ms"),
    ])
    .await;
    expect_error(
        app.post_token(Some(&written[0])).await,
        503,
        "session_backend_unavailable",
    )
    .await;
}

#[tokio::test]
async fn a_plain_name_cookie_never_shadows_the_secure_one() {
    let email = |tag: &str| format!("{}@example.com", unique(tag));
    let schema = schema();
    let (written, subjects) = write(
        &schema,
        json!([
            {"secret": SESSION_SECRET, "email": email("victim"), "secure": true},
            {"secret": SESSION_SECRET, "email": email("mallory")},
            {"secret": SESSION_SECRET, "email": email("victim"), "secure": true, "then": "sign-out"},
        ]),
    );
    let [victim, mallory, signed_out] = written.as_slice() else {
        panic!("three cookies: {written:?}")
    };
    let app = better_auth_app(&schema, "SESSION_SECRET", SESSION_SECRET).await;
    for header in [
        format!("{victim}; {mallory}"),
        format!("{mallory}; {victim}"),
    ] {
        let (_, claims) = expect_token(app.post_token(Some(&header)).await).await;
        assert_eq!(Some(claims.sub.as_str()), subjects[0].as_str());
    }
    app.expect_unauthenticated(&format!("{mallory}; {signed_out}"))
        .await;
    let (_, claims) = expect_token(app.post_token(Some(mallory)).await).await;
    assert_eq!(Some(claims.sub.as_str()), subjects[1].as_str());
}

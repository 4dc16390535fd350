//! `SESSION_BACKEND=rails`: encrypted session cookies written by
//! ActionDispatch's own cookie store (Debian's Rails 6.1,
//! `tests/formats/rails/write.rb`), with the key generator's SHA1 digest as
//! Rails 6.1 uses it and SHA256 as `load_defaults 7.0` does.

use serde_json::{json, Value};

use crate::support::*;

const COOKIE: &str = "_app_session";

/// A Devise/Warden login: `warden.user.user.key` => `[[id], salt]`.
fn devise(id: u64) -> Value {
    json!({"warden.user.user.key": [[id], "$2a$12$abcdefghijklmnopqrstuv"], "org": "acme"})
}

/// One Cookie header per case, written by Rails' cookie store.
fn write(cases: Value) -> Vec<String> {
    cookies(&ruby_writer("rails", &json!({ "cases": cases })))
}

async fn app(digest: &str, secrets: &str) -> TestApp {
    spawn_app_with(&[
        ("SESSION_BACKEND", "rails"),
        ("SESSION_COOKIE", COOKIE),
        ("SESSION_RAILS_KEY_DIGEST", digest),
        ("SESSION_SECRET", secrets),
        ("SESSION_ATTRIBUTES", "org=/org"),
        ("REALTIME_ROOMS", "document-*,user-{sub},org-{org}:*"),
    ])
    .await
}

/// The cookie's value with its first base64 character changed.
fn tampered(cookie: &str) -> String {
    let (name, value) = cookie.split_once('=').unwrap();
    let first = if value.starts_with('A') { "B" } else { "A" };
    format!("{name}={first}{}", &value[1..])
}

#[tokio::test]
async fn a_rails_7_cookie_yields_the_devise_user_and_forgeries_do_not() {
    let secret = json!(SESSION_SECRET);
    let written = write(json!([
        {"secret": secret, "digest": "sha256", "session": devise(42)},
        {"secret": "another-app-secret-0123456789abcdef", "digest": "sha256", "session": devise(42)},
        {"secret": secret, "digest": "sha1", "session": devise(42)},
        {"secret": secret, "digest": "sha256", "name": "_other_session", "session": devise(42)},
        {"secret": secret, "digest": "sha256", "session": {"cart": 3}},
    ]));
    let [good, other_secret, sha1, other_name, no_user] = written.as_slice() else {
        panic!("five cookies: {written:?}")
    };
    let app = app("sha256", SESSION_SECRET).await;

    // Another cookie's purpose: `cookie._other_session` under our name.
    let swapped = other_name.replacen("_other_session=", &format!("{COOKIE}="), 1);
    let renamed = good.replacen(COOKIE, "_other_session", 1);
    let refused = vec![
        tampered(good),
        other_secret.clone(),
        sha1.clone(),
        renamed,
        swapped,
        no_user.clone(),
    ];
    let cases = Cases {
        good,
        sub: "42",
        rooms: &["org-acme:*"],
        refused,
        no_user: None,
    };
    accept_refuse(&app, cases).await;
}

/// Refusals that look alike from outside (401) but each for its own reason:
/// the real binary at `RUST_LOG=debug` logs the reason, never the cookie.
#[tokio::test]
async fn marshal_purposeless_swapped_and_expired_cookies_are_refused_for_their_reason() {
    let s = SESSION_SECRET;
    let written = write(json!([
        {"secret": s, "digest": "sha256", "session": devise(1), "serializer": "marshal"},
        {"secret": s, "digest": "sha256", "session": devise(1), "metadata": false},
        {"secret": s, "digest": "sha256", "session": devise(1), "name": "_other_session"},
        {"secret": s, "digest": "sha256", "session": devise(1), "expire_after": -60},
        {"secret": s, "digest": "sha256", "session": {"cart": 3}},
    ]));
    let cases = [
        (
            written[0].clone(),
            "Marshal-serialized; set cookies_serializer = :json",
        ),
        (
            written[1].clone(),
            "no purpose; enable use_cookies_with_metadata",
        ),
        (
            written[2].replacen("_other_session=", &format!("{COOKIE}="), 1),
            "written for another cookie",
        ),
        (written[3].clone(), "the session has expired"),
        (written[4].clone(), "the session has no user"),
    ];
    let env = [
        ("SESSION_BACKEND", "rails"),
        ("SESSION_COOKIE", COOKIE),
        ("RUST_LOG", "debug"),
    ];
    let server = tokio::task::spawn_blocking(move || ServerProcess::start(&env))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    for (cookie, reason) in &cases {
        let before = server.log.lock().unwrap().len();
        let res = client
            .post(server.url("/api/realtime-token"))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap();
        expect_error(res, 401, "unauthenticated").await;
        // The reader thread may take the line a moment after the answer.
        let log = eventually(&format!("the log line \"{reason}\""), async || {
            let log = server.log.lock().unwrap()[before..].join("\n");
            log.contains(reason).then_some(log)
        })
        .await;
        let value = cookie.split_once('=').unwrap().1;
        assert!(!log.contains(&value[..24]), "the cookie leaked into {log}");
    }
}

#[tokio::test]
async fn a_rails_6_1_cookie_reads_with_the_sha1_digest_only() {
    let written = write(json!([
        {"secret": SESSION_SECRET, "digest": "sha1", "session": devise(7)},
        {"secret": SESSION_SECRET, "digest": "sha1", "session": devise(7), "serializer": "hybrid"},
    ]));
    let (_, claims) = expect_token(
        app("sha1", SESSION_SECRET)
            .await
            .post_token(Some(&written[0]))
            .await,
    )
    .await;
    assert_eq!(claims.sub, "7");
    // `:hybrid` writes JSON, so a migrated app's new cookies read too.
    let (_, claims) = expect_token(
        app("sha1", SESSION_SECRET)
            .await
            .post_token(Some(&written[1]))
            .await,
    )
    .await;
    assert_eq!(claims.sub, "7");
    app("sha256", SESSION_SECRET)
        .await
        .expect_unauthenticated(&written[0])
        .await;
}

#[tokio::test]
async fn the_cookie_store_expiry_is_enforced() {
    let written = write(json!([
        {"secret": SESSION_SECRET, "digest": "sha256", "session": devise(5), "expire_after": -60},
        {"secret": SESSION_SECRET, "digest": "sha256", "session": devise(5), "expire_after": 3600},
    ]));
    let app = app("sha256", SESSION_SECRET).await;
    app.expect_unauthenticated(&written[0]).await;
    let (_, claims) = expect_token(app.post_token(Some(&written[1])).await).await;
    assert_eq!(claims.sub, "5");
}

#[tokio::test]
async fn rotated_secret_key_bases_are_accepted_until_removed() {
    let written = write(json!([
        {"secret": OLD_SESSION_SECRET, "digest": "sha256", "session": devise(9)},
    ]));
    let both = format!("{SESSION_SECRET},{OLD_SESSION_SECRET}");
    let (_, claims) = expect_token(
        app("sha256", &both)
            .await
            .post_token(Some(&written[0]))
            .await,
    )
    .await;
    assert_eq!(claims.sub, "9");
    app("sha256", SESSION_SECRET)
        .await
        .expect_unauthenticated(&written[0])
        .await;
}

#[test]
fn the_key_digest_and_the_cookie_name_are_checked_at_start_up() {
    let errors = config_with(&[
        ("SESSION_BACKEND", "rails"),
        ("SESSION_COOKIE", COOKIE),
        ("SESSION_RAILS_KEY_DIGEST", "md5"),
    ])
    .expect_err("md5 is refused");
    assert!(errors.mentions("SESSION_RAILS_KEY_DIGEST"), "{errors}");
    let errors = config_with(&[("SESSION_BACKEND", "rails")]).expect_err("no cookie name");
    assert!(errors.mentions("SESSION_COOKIE"), "{errors}");
    let config = config_with(&[("SESSION_BACKEND", "rails"), ("SESSION_COOKIE", COOKIE)]).unwrap();
    assert_eq!(config.session.subject_pointer, "/warden.user.user.key/0/0");
}

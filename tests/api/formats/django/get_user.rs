//! What ends a Django session here is what ends it in Django: the
//! service answers 401 exactly where Django's own `get_user` (asked by the
//! writer) finds no user: a password changed since login, an inactive or
//! deleted user, a session without `_auth_user_hash`.

use serde_json::{json, Value};

use super::DjangoDb;
use crate::support::*;

const ALLOW_ALL: &str = "django.contrib.auth.backends.AllowAllUsersModelBackend";

/// Every way Django's `get_user` ends a logged-in session, for one engine:
/// the service answers 401 exactly where Django finds no user, and 200 with
/// Django's user where it finds one.
async fn sessions_end_when_djangos_get_user_ends_them(engine: &str) {
    let db = DjangoDb::new();
    let [carol, dave, erin, frank, gina, hank, ivan, judy] = [
        "carol", "dave", "erin", "frank", "gina", "hank", "ivan", "judy",
    ]
    .map(unique);
    let case = |user: &str, then: Value| {
        let mut case = json!({"engine": engine, "secret": SESSION_SECRET, "user": user});
        case.as_object_mut()
            .unwrap()
            .extend(then.as_object().unwrap().clone());
        case
    };
    #[rustfmt::skip]
    let cases = [
        // Logged in before a password reset elsewhere: Django refuses it.
        (case(&carol, json!({})), false),
        // The session the reset ran in, without update_session_auth_hash.
        (case(&carol, json!({"then": "set_password"})), false),
        // Logged in again with the new password.
        (case(&carol, json!({})), true),
        // A password change through update_session_auth_hash keeps its session.
        (case(&dave, json!({"then": "change_password_here"})), true),
        // ModelBackend refuses an inactive user; AllowAllUsersModelBackend does not.
        (case(&erin, json!({"then": "deactivate"})), false),
        (case(&frank, json!({"backend": ALLOW_ALL, "then": "deactivate"})), true),
        (case(&gina, json!({"then": "delete_user"})), false),
        (case(&hank, json!({"drop": ["_auth_user_hash"]})), false),
        (case(&ivan, json!({"drop": ["_auth_user_backend"]})), false),
        // Written under the old SECRET_KEY, now in SECRET_KEY_FALLBACKS.
        (case(&judy, json!({"secret": OLD_SESSION_SECRET})), true),
    ];
    let (requests, accepted): (Vec<Value>, Vec<bool>) = cases.into_iter().unzip();
    let (written, subjects) = db.write(Value::Array(requests));
    let app = db
        .app(
            engine,
            &format!("{SESSION_SECRET},{OLD_SESSION_SECRET}"),
            &[],
        )
        .await;
    let mut answers = Vec::new();
    for cookie in &written {
        answers.push(app.post_token(Some(cookie)).await);
    }
    let django = db.django_users(engine, &written);
    let mut wrong = Vec::new();
    for (i, (res, accepted)) in answers.into_iter().zip(accepted).enumerate() {
        assert_eq!(
            django[i].is_string(),
            accepted,
            "{engine} case {i}: Django's get_user"
        );
        let status = res.status().as_u16();
        if status != if accepted { 200 } else { 401 } {
            wrong.push(format!("case {i}: {status}"));
        } else if accepted {
            let (_, claims) = expect_token(res).await;
            assert_eq!(
                claims.sub,
                subjects[i].as_str().unwrap(),
                "{engine} case {i}"
            );
            assert_eq!(django[i], subjects[i], "{engine} case {i}");
        }
    }
    assert!(wrong.is_empty(), "{engine}: {wrong:?}");
}

#[tokio::test]
async fn db_sessions_end_when_djangos_get_user_ends_them() {
    sessions_end_when_djangos_get_user_ends_them("db").await;
}

#[tokio::test]
async fn signed_cookie_sessions_end_when_djangos_get_user_ends_them() {
    sessions_end_when_djangos_get_user_ends_them("signed_cookies").await;
}

#[tokio::test]
async fn a_custom_user_model_is_read_from_its_own_table_and_key_column() {
    let db = DjangoDb::with_custom_user_model();
    let [kim, lee] = ["kim", "lee"].map(|name| format!("{}@example.com", unique(name)));
    let (written, subjects) = db.write(json!([
        {"engine": "db", "secret": SESSION_SECRET, "user": kim},
        {"engine": "db", "secret": SESSION_SECRET, "user": lee, "then": "set_password"},
    ]));
    let members = db.table("members");
    let app = db
        .app(
            "db",
            SESSION_SECRET,
            &[
                ("SESSION_DJANGO_USER_TABLE", members.as_str()),
                ("SESSION_DJANGO_USER_ID_COLUMN", "member_id"),
            ],
        )
        .await;
    let (_, claims) = expect_token(app.post_token(Some(&written[0])).await).await;
    let uuid = subjects[0].as_str().unwrap();
    assert_eq!(claims.sub, uuid);
    assert_eq!(uuid.len(), 36, "the key is a UUID: {uuid}");
    app.expect_unauthenticated(&written[1]).await;
    let django = db.django_users("db", &written);
    assert_eq!(django, [subjects[0].clone(), Value::Null]);
}

#[tokio::test]
async fn without_a_database_signed_cookies_say_what_is_not_checked() {
    let db = DjangoDb::new();
    let user = unique("olga");
    let (written, subjects) = db.write(json!([
        {"engine": "signed_cookies", "secret": SESSION_SECRET, "user": user, "then": "set_password"},
        {"engine": "signed_cookies", "secret": SESSION_SECRET, "user": unique("pia"), "drop": ["_auth_user_hash"]},
    ]));
    let settings = [
        ("SESSION_BACKEND", "django"),
        ("SESSION_DJANGO_ENGINE", "signed_cookies"),
    ];
    let warning = |config: &realtime_token::config::Config| {
        config
            .warnings()
            .into_iter()
            .find(|w| w.contains("_auth_user_hash are not checked"))
    };
    let warned = warning(&config_with(&settings).unwrap()).expect("a start-up warning");
    assert!(warned.contains("without DATABASE_URL"), "{warned}");
    let out = run_cli(&settings, &["check-config"]);
    assert!(stdout(&out).contains(&warned), "{}", stdout(&out));

    // Unchecked: the password changed, and the session still yields its
    // user until SESSION_MAX_AGE. A session without a hash is still one
    // Django refuses.
    let app = spawn_app_with(&settings).await;
    let (_, claims) = expect_token(app.post_token(Some(&written[0])).await).await;
    assert_eq!(Some(claims.sub.as_str()), subjects[0].as_str());
    app.expect_unauthenticated(&written[1]).await;

    // SESSION_DJANGO_USER_TABLE=off with a database: the same, said too.
    let url = database_url();
    let off = [
        ("SESSION_DJANGO_USER_TABLE", "off"),
        ("DATABASE_URL", url.as_str()),
    ];
    let config = config_with(&[&settings[..], &off[..]].concat()).unwrap();
    assert!(warning(&config)
        .unwrap()
        .contains("SESSION_DJANGO_USER_TABLE=off"));
    let app = db.app("signed_cookies", SESSION_SECRET, &off).await;
    expect_token(app.post_token(Some(&written[0])).await).await;
    // With the table, the same cookie is refused.
    let checked = db.app("signed_cookies", SESSION_SECRET, &[]).await;
    checked.expect_unauthenticated(&written[0]).await;
    assert!(warning(
        &config_with(&[&settings[..], &[("DATABASE_URL", url.as_str())]].concat()).unwrap()
    )
    .is_none());
}

//! `SESSION_BACKEND=django`: sessions written by the real Django
//! (`tests/formats/django/write.py`, logged in through Django's test
//! client), with the `db` engine on the test PostgreSQL and with
//! `signed_cookies`; `get_user` (what ends a session as Django's own
//! `get_user` ends it).

use serde_json::{json, Value};

use crate::support::*;

mod get_user;

const OTHER_SECRET: &str = "django-other-secret-0123456789abcdef";

/// Django's tables (`django_session`, `auth_user`, ...) in a schema of this
/// test's own, migrated by the writer and dropped at the end: writers of
/// parallel tests never create or migrate the same schema.
struct DjangoDb {
    schema: PgSchema,
    /// AUTH_USER_MODEL when not `auth.User`.
    user_model: Option<&'static str>,
}

impl DjangoDb {
    fn new() -> Self {
        Self {
            schema: PgSchema::unique("rt_django_"),
            user_model: None,
        }
    }

    /// With `tests/formats/django/accounts`' custom user model, `Member`.
    fn with_custom_user_model() -> Self {
        Self {
            user_model: Some("accounts.Member"),
            ..Self::new()
        }
    }

    fn run(&self, request: Value) -> Value {
        let mut request = request;
        request["database_url"] = database_url().into();
        request["schema"] = self.schema.name.clone().into();
        if let Some(model) = self.user_model {
            request["user_model"] = model.into();
        }
        python_writer("django", &request)
    }

    /// Writes `cases` with Django; the cookies and each session's user id.
    fn write(&self, cases: Value) -> (Vec<String>, Vec<Value>) {
        let answer = self.run(json!({"cases": cases}));
        let subjects = answer["subjects"].as_array().expect("subjects").clone();
        (cookies(&answer), subjects)
    }

    /// The user Django's `get_user` finds for each cookie (null: anonymous)
    /// under `SECRET_KEY=SESSION_SECRET`, `SECRET_KEY_FALLBACKS=[OLD]`. For
    /// the db engine a refused session's row is deleted: ask last.
    fn django_users(&self, engine: &str, cookies: &[String]) -> Vec<Value> {
        let checks: Vec<Value> = cookies
            .iter()
            .map(|cookie| {
                json!({"engine": engine, "secret": SESSION_SECRET,
                       "fallbacks": [OLD_SESSION_SECRET], "cookie": cookie})
            })
            .collect();
        let answer = self.run(json!({"verify": checks}));
        answer["users"].as_array().expect("users").clone()
    }

    fn table(&self, name: &str) -> String {
        format!("{}.{name}", self.schema.name)
    }

    async fn app(&self, engine: &str, secrets: &str, extra: &[(&str, &str)]) -> TestApp {
        let url = database_url();
        let (sessions, users) = (self.table("django_session"), self.table("auth_user"));
        let mut env = vec![
            ("SESSION_BACKEND", "django"),
            ("SESSION_DJANGO_ENGINE", engine),
            ("SESSION_SECRET", secrets),
            ("DATABASE_URL", url.as_str()),
            ("SESSION_PG_TABLE", sessions.as_str()),
            ("SESSION_DJANGO_USER_TABLE", users.as_str()),
            ("SESSION_ATTRIBUTES", "org=/org"),
            ("REALTIME_ROOMS", "document-*,user-{sub},org-{org}:*"),
        ];
        env.extend_from_slice(extra);
        spawn_app_with(&env).await
    }
}

#[tokio::test]
async fn db_sessions_yield_their_user_until_logout_or_expiry() {
    let db = DjangoDb::new();
    let user = unique("alice");
    let (written, subjects) = db.write(json!([
        {"engine": "db", "secret": SESSION_SECRET, "user": user, "session": {"org": "acme"}},
        {"engine": "db", "secret": SESSION_SECRET, "user": user, "then": "logout"},
        {"engine": "db", "secret": SESSION_SECRET, "user": user, "then": "expire"},
        {"engine": "db", "secret": OTHER_SECRET, "user": user},
        {"engine": "db", "secret": OLD_SESSION_SECRET, "user": user},
        {"engine": "db", "secret": SESSION_SECRET, "session": {"cart": 3}},
        {"engine": "db", "secret": SESSION_SECRET, "user": user, "serializer": "pickle"},
    ]));
    let [good, logged_out, expired, other_secret, old_secret, no_user, pickled] =
        written.as_slice()
    else {
        panic!("seven cookies: {written:?}")
    };
    let app = db.app("db", SESSION_SECRET, &[]).await;

    // Another session key: the last character changed.
    let last = if good.ends_with('x') { "y" } else { "x" };
    let tampered = format!("{}{last}", &good[..good.len() - 1]);
    let refused = [
        &tampered,
        logged_out,
        expired,
        other_secret,
        old_secret,
        no_user,
        pickled,
    ];
    let cases = Cases {
        good,
        sub: subjects[0].as_str().expect("a subject"),
        rooms: &["org-acme:*"],
        refused: refused.map(String::clone).to_vec(),
        no_user: None,
    };
    accept_refuse(&app, cases).await;

    // SECRET_KEY_FALLBACKS: the old secret second.
    let rotated = db
        .app("db", &format!("{SESSION_SECRET},{OLD_SESSION_SECRET}"), &[])
        .await;
    let (_, claims) = expect_token(rotated.post_token(Some(old_secret)).await).await;
    assert_eq!(Some(claims.sub.as_str()), subjects[4].as_str());
}

#[tokio::test]
async fn signed_cookie_sessions_are_bounded_by_session_max_age() {
    let db = DjangoDb::new();
    let user = unique("bob");
    let now = realtime_token::token::unix_now();
    let fifteen_days_ago = now - 15 * 86_400;
    let (written, subjects) = db.write(json!([
        {"engine": "signed_cookies", "secret": SESSION_SECRET, "user": user,
         "session": {"org": "acme", "pad": "x".repeat(600)}},
        {"engine": "signed_cookies", "secret": SESSION_SECRET, "user": user, "signed_at": fifteen_days_ago},
        {"engine": "signed_cookies", "secret": OTHER_SECRET, "user": user},
        {"engine": "signed_cookies", "secret": SESSION_SECRET, "user": user, "serializer": "pickle"},
    ]));
    let [compressed, old, other_secret, pickled] = written.as_slice() else {
        panic!("four cookies: {written:?}")
    };
    assert!(
        compressed.starts_with("sessionid=."),
        "Django compressed it: {compressed}"
    );
    let app = db.app("signed_cookies", SESSION_SECRET, &[]).await;

    // Past the default two weeks, another secret, a pickle, or an edit.
    let tampered = compressed.replacen("sessionid=.", "sessionid=.A", 1);
    let cases = Cases {
        good: compressed,
        sub: subjects[0].as_str().expect("a subject"),
        rooms: &["org-acme:*"],
        refused: vec![old.clone(), other_secret.clone(), pickled.clone(), tampered],
        no_user: None,
    };
    accept_refuse(&app, cases).await;
    let longer = db
        .app(
            "signed_cookies",
            SESSION_SECRET,
            &[("SESSION_MAX_AGE", "30d")],
        )
        .await;
    let (_, claims) = expect_token(longer.post_token(Some(old)).await).await;
    assert_eq!(Some(claims.sub.as_str()), subjects[1].as_str());
}

#[tokio::test]
async fn a_missing_table_is_named_with_its_fix_and_never_yields_a_token() {
    let db = DjangoDb::with_custom_user_model();
    let (written, _) = db.write(json!([
        {"engine": "db", "secret": SESSION_SECRET, "user": format!("{}@example.com", unique("max"))},
        {"engine": "signed_cookies", "secret": SESSION_SECRET, "user": format!("{}@example.com", unique("ann"))},
    ]));
    let url = database_url();
    let (sessions, no_sessions) = (db.table("django_session"), db.table("no_such_table"));
    // The custom model's schema has no auth_user.
    let users = db.table("auth_user");
    for (engine, table, cookie, missing, fix) in [
        (
            "db",
            no_sessions.as_str(),
            &written[0],
            "no_such_table",
            "manage.py migrate",
        ),
        (
            "db",
            sessions.as_str(),
            &written[0],
            "auth_user",
            "SESSION_DJANGO_USER_TABLE",
        ),
        (
            "signed_cookies",
            sessions.as_str(),
            &written[1],
            "auth_user",
            "SESSION_DJANGO_USER_TABLE",
        ),
    ] {
        let server = ServerProcess::start(&[
            ("SESSION_BACKEND", "django"),
            ("SESSION_DJANGO_ENGINE", engine),
            ("DATABASE_URL", url.as_str()),
            ("SESSION_PG_TABLE", table),
            ("SESSION_DJANGO_USER_TABLE", users.as_str()),
        ]);
        let client = reqwest::Client::new();
        let res = client
            .post(server.url("/api/realtime-token"))
            .header("cookie", cookie.as_str())
            .send()
            .await
            .unwrap();
        expect_error(res, 503, "session_backend_unavailable").await;
        let ready = client.get(server.url("/readyz")).send().await.unwrap();
        expect_error(ready, 503, "session_backend_unavailable").await;
        let named = |log: &str| {
            log.lines()
                .any(|l| l.contains(&format!("{missing}` does not exist")) && l.contains(fix))
        };
        eventually("the log line naming the table and the fix", async || {
            named(&server.log_text())
        })
        .await;
    }
}

#[tokio::test]
async fn djangos_own_engine_names_are_read_and_cache_or_file_are_refused() {
    let url = database_url();
    let engine = |value: &str| {
        config_with(&[
            ("SESSION_BACKEND", "django"),
            ("SESSION_DJANGO_ENGINE", value),
            ("DATABASE_URL", url.as_str()),
        ])
    };
    for (value, db) in [
        ("db", true),
        ("django.contrib.sessions.backends.db", true),
        ("cached_db", true),
        ("django.contrib.sessions.backends.cached_db", true),
        ("signed_cookies", false),
        ("django.contrib.sessions.backends.signed_cookies", false),
    ] {
        let config = engine(value).unwrap_or_else(|e| panic!("{value}: {e}"));
        let read = config.session.option("SESSION_DJANGO_ENGINE");
        assert_eq!(
            read,
            Some(if db { "db" } else { "signed_cookies" }),
            "{value}"
        );
    }
    for value in [
        "cache",
        "file",
        "django.contrib.sessions.backends.cache",
        "django.contrib.sessions.backends.file",
    ] {
        let errors = engine(value).unwrap_err();
        assert!(errors.mentions("SESSION_DJANGO_ENGINE"), "{errors}");
        assert!(
            errors.to_string().contains("cannot read"),
            "{value}: {errors}"
        );
    }
    let errors = engine("memcached").unwrap_err();
    assert!(
        errors.to_string().contains("not a Django session engine"),
        "{errors}"
    );
}

#[tokio::test]
async fn an_unreachable_database_is_503_and_a_bad_engine_is_refused_at_start_up() {
    // A signed cookie Django wrote: its user cannot be checked, so no token.
    let db = DjangoDb::new();
    let (written, _) = db.write(json!([
        {"engine": "signed_cookies", "secret": SESSION_SECRET, "user": unique("quinn")},
    ]));
    let down = "postgres://postgres@127.0.0.1:1/test";
    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "django"),
        ("SESSION_DJANGO_ENGINE", "signed_cookies"),
        ("DATABASE_URL", down),
        ("SESSION_LOOKUP_TIMEOUT", "300ms"),
    ])
    .await;
    expect_error(
        app.post_token(Some(&written[0])).await,
        503,
        "session_backend_unavailable",
    )
    .await;

    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "django"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/test"),
        ("SESSION_LOOKUP_TIMEOUT", "300ms"),
    ])
    .await;
    let cookie = "sessionid=0123456789abcdefghijklmnopqrstuv";
    expect_error(
        app.post_token(Some(cookie)).await,
        503,
        "session_backend_unavailable",
    )
    .await;

    let errors = config_with(&[
        ("SESSION_BACKEND", "django"),
        ("SESSION_DJANGO_ENGINE", "cache"),
    ])
    .unwrap_err();
    assert!(errors.mentions("SESSION_DJANGO_ENGINE"), "{errors}");
    // The signed_cookies engine needs no database.
    assert!(config_with(&[
        ("SESSION_BACKEND", "django"),
        ("SESSION_DJANGO_ENGINE", "signed_cookies"),
    ])
    .is_ok());
}

#[tokio::test]
async fn signed_cookies_checked_against_the_database_spend_the_address_bucket_first() {
    // The user check is a query per valid cookie: it runs only once the
    // address bucket let the request through, so one valid cookie cannot
    // make the database answer without limit. The "database" here counts
    // the connections it is offered and closes them (each query that runs
    // is a 503); the request the address bucket refuses never connects.
    let db = DjangoDb::new();
    let (written, _) = db.write(json!([
        {"engine": "signed_cookies", "secret": SESSION_SECRET, "user": unique("rhea")},
    ]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "postgres://postgres@{}/test",
        listener.local_addr().unwrap()
    );
    let offered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = offered.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "django"),
        ("SESSION_DJANGO_ENGINE", "signed_cookies"),
        ("DATABASE_URL", url.as_str()),
        ("SESSION_LOOKUP_TIMEOUT", "300ms"),
        ("RATE_LIMIT_IP", "2/m"),
        ("RATE_LIMIT_SUBJECT", "100/m"),
    ])
    .await;
    for _ in 0..2 {
        let res = app.post_token(Some(&written[0])).await;
        expect_error(res, 503, "session_backend_unavailable").await;
    }
    let before = offered.load(std::sync::atomic::Ordering::SeqCst);
    assert!(before >= 2, "{before} connections");
    expect_error(app.post_token(Some(&written[0])).await, 429, "rate_limited").await;
    assert_eq!(offered.load(std::sync::atomic::Ordering::SeqCst), before);
}

//! `SESSION_BACKEND=rails` with Devise: a real Rails 6.1 app with Devise 4.8
//! (`tests/formats/devise/write.rb`) signs users in through Devise's own
//! controller and changes passwords with `user.update(password:)`, its users
//! in a PostgreSQL schema unique to the test. The service checks each Devise
//! session against the same users table, as Warden does.

use serde_json::{json, Value};

use crate::support::*;

const COOKIE: &str = "_app_session";

/// A Devise app's users (its schema, dropped at the end), driven through
/// the writer.
struct DeviseApp {
    schema: PgSchema,
    id_type: &'static str,
}

/// What one writer run did: the cookies of its sign-ins, Devise's own
/// verdicts on the visited cookies, the ids of the users it created.
struct Run {
    cookies: Vec<String>,
    visits: Vec<u64>,
    ids: Value,
}

impl DeviseApp {
    fn new(id_type: &'static str) -> Self {
        Self {
            schema: PgSchema::unique("devise_"),
            id_type,
        }
    }

    /// Runs `steps` in the Rails app (see write.rb), off the runtime the
    /// service runs on.
    async fn run(&self, steps: Value) -> Run {
        let request = json!({
            "database_url": database_url(),
            "schema": self.schema.name,
            "secret": SESSION_SECRET,
            "name": COOKIE,
            "id_type": self.id_type,
            "steps": steps,
        });
        let answer = tokio::task::spawn_blocking(move || devise_writer(&request))
            .await
            .unwrap();
        let visits = answer["visits"].as_array().unwrap();
        Run {
            cookies: cookies(&answer),
            visits: visits.iter().map(|v| v.as_u64().unwrap()).collect(),
            ids: answer["ids"].clone(),
        }
    }

    fn table(&self) -> String {
        format!("{}.users", self.schema.name)
    }

    /// The service reading this app's sessions and users through `database`.
    async fn service(&self, database: &str) -> TestApp {
        spawn_app_with(&[
            ("SESSION_BACKEND", "rails"),
            ("SESSION_COOKIE", COOKIE),
            ("DATABASE_URL", database),
            ("SESSION_PG_TABLE", &self.table()),
            ("SESSION_LOOKUP_TIMEOUT", "500ms"),
        ])
        .await
    }
}

/// The subject the service's token names for `cookie`.
async fn subject(app: &TestApp, cookie: &str) -> String {
    expect_token(app.post_token(Some(cookie)).await).await.1.sub
}

fn id(ids: &Value, email: &str) -> String {
    match &ids[email] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn a_password_change_ends_the_devise_sessions_the_app_ends() {
    let devise = DeviseApp::new("bigint");
    let before = devise
        .run(json!([
            {"create": "alice@example.test", "password": "alice-first-password"},
            {"create": "bob@example.test", "password": "bob-password-123"},
            {"login": "alice@example.test", "password": "alice-first-password"},
            {"login": "bob@example.test", "password": "bob-password-123"},
        ]))
        .await;
    let [alice_old, bob] = before.cookies.as_slice() else {
        panic!("two cookies: {:?}", before.cookies)
    };
    let (alice_id, bob_id) = (
        id(&before.ids, "alice@example.test"),
        id(&before.ids, "bob@example.test"),
    );
    let app = devise.service(&database_url()).await;
    assert_eq!(subject(&app, alice_old).await, alice_id);
    assert_eq!(subject(&app, bob).await, bob_id);

    // Devise's own password change, then Devise's own verdicts.
    let after = devise
        .run(json!([
            {"change_password": "alice@example.test", "password": "alice-second-password"},
            {"visit": alice_old},
            {"login": "alice@example.test", "password": "alice-second-password"},
            {"visit": bob},
        ]))
        .await;
    let alice_new = &after.cookies[0];
    assert_eq!(
        after.visits,
        [401, 200],
        "Devise ends alice's old session only"
    );

    app.expect_unauthenticated(alice_old).await;
    assert_eq!(subject(&app, alice_new).await, alice_id);
    assert_eq!(subject(&app, bob).await, bob_id);
}

#[tokio::test]
async fn uuid_users_are_checked_and_a_deleted_user_s_session_ends() {
    let devise = DeviseApp::new("uuid");
    let run = devise
        .run(json!([
            {"create": "carol@example.test", "password": "carol-password-1"},
            {"login": "carol@example.test", "password": "carol-password-1"},
        ]))
        .await;
    let carol = &run.cookies[0];
    let carol_id = id(&run.ids, "carol@example.test");
    assert_eq!(carol_id.len(), 36, "a uuid: {carol_id}");
    let app = devise.service(&database_url()).await;
    assert_eq!(subject(&app, carol).await, carol_id);

    let gone = devise
        .run(json!([
            {"destroy": "carol@example.test"},
            {"visit": carol},
        ]))
        .await;
    assert_eq!(gone.visits, [401], "Devise signs a deleted user out");
    app.expect_unauthenticated(carol).await;
}

#[tokio::test]
async fn a_users_table_that_fails_is_503_never_a_token() {
    let devise = DeviseApp::new("bigint");
    let run = devise
        .run(json!([
            {"create": "dave@example.test", "password": "dave-password-12"},
            {"login": "dave@example.test", "password": "dave-password-12"},
        ]))
        .await;
    let cookie = &run.cookies[0];
    let proxy = FaultProxy::start("127.0.0.1:5432").await;
    let url = database_url().replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1);
    assert!(
        url.contains(&proxy.port.to_string()),
        "DATABASE_URL must name 127.0.0.1:5432: {url}"
    );
    let app = devise.service(&url).await;
    expect_token(app.post_token(Some(cookie)).await).await;

    proxy.set(ProxyMode::Down);
    let res = app.post_token(Some(cookie)).await;
    assert!(res.headers().get("retry-after").is_some());
    expect_error(res, 503, "session_backend_unavailable").await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);

    proxy.set(ProxyMode::Hang);
    expect_error(
        app.post_token(Some(cookie)).await,
        503,
        "session_backend_unavailable",
    )
    .await;

    proxy.set(ProxyMode::Up);
    expect_token(eventually_status(&app, cookie, 200).await).await;
}

#[tokio::test]
async fn readyz_checks_that_the_users_table_can_be_read() {
    let devise = DeviseApp::new("bigint");
    // The schema does not exist until the app first runs.
    let app = devise.service(&database_url()).await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    expect_error(ready, 503, "session_backend_unavailable").await;
    devise.run(json!([])).await;
    app.eventually_ready().await;
}

/// An app without Devise keeps its own subject pointer, and its sessions
/// never touch the database (here one that is down).
#[tokio::test]
async fn sessions_of_an_app_without_devise_read_the_subject_pointer_without_a_query() {
    let written = cookies(&ruby_writer(
        "rails",
        &json!({"cases": [{"secret": SESSION_SECRET, "digest": "sha256", "name": COOKIE, "session": {"user_id": 5}}]}),
    ));
    let proxy = FaultProxy::start("127.0.0.1:5432").await;
    proxy.set(ProxyMode::Down);
    let down = format!("postgres://postgres@127.0.0.1:{}/test", proxy.port);
    let app = spawn_app_with(&[
        ("SESSION_BACKEND", "rails"),
        ("SESSION_COOKIE", COOKIE),
        ("SESSION_SUBJECT_POINTER", "/user_id"),
        ("DATABASE_URL", &down),
    ])
    .await;
    assert_eq!(subject(&app, &written[0]).await, "5");
    app.eventually_ready().await;
}

#[tokio::test]
async fn without_database_url_start_up_says_a_copied_cookie_survives_a_password_change() {
    // The test runner's own DATABASE_URL is overridden: empty is unset.
    let env = [
        ("SESSION_BACKEND", "rails"),
        ("SESSION_COOKIE", COOKIE),
        ("DATABASE_URL", ""),
    ];
    let server = tokio::task::spawn_blocking(move || ServerProcess::start(&env))
        .await
        .unwrap();
    let log = server.log.lock().unwrap().join("\n");
    assert!(
        log.contains("DATABASE_URL is not set") && log.contains("changes their password"),
        "{log}"
    );
}

#[test]
fn the_users_table_settings_are_checked_at_start_up() {
    let rails = [("SESSION_BACKEND", "rails"), ("SESSION_COOKIE", COOKIE)];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut env = rails.to_vec();
        env.extend_from_slice(extra);
        config_with(&env)
    };
    let database = [("DATABASE_URL", "postgres://app@127.0.0.1:5432/app")];
    let config = with(&database).unwrap();
    assert!(
        matches!(&config.session.store, realtime_token::config::StoreSettings::Postgres { table, .. } if table == "users")
    );
    assert!(config
        .warnings()
        .iter()
        .all(|w| !w.contains("DATABASE_URL")));
    let config = with(&[]).unwrap();
    assert_eq!(
        config.session.store,
        realtime_token::config::StoreSettings::None
    );
    assert!(config
        .warnings()
        .iter()
        .any(|w| w.contains("DATABASE_URL is not set")));
    // An app without Devise has nothing to check there.
    let config = with(&[("SESSION_SUBJECT_POINTER", "/user_id")]).unwrap();
    assert!(config
        .warnings()
        .iter()
        .all(|w| !w.contains("DATABASE_URL")));

    for (var, value) in [
        ("SESSION_DEVISE_ID_COLUMN", "id; drop table users"),
        ("SESSION_DEVISE_PASSWORD_COLUMN", "1password"),
        ("SESSION_PG_TABLE", "users where 1=1"),
        ("SESSION_SUBJECT_POINTER", "/warden.user.admin.key/0"),
    ] {
        let errors = with(&[database[0], (var, value)]).expect_err(value);
        assert!(errors.mentions(var), "{errors}");
    }
    // Another scope, and an app without Devise.
    for pointer in ["/warden.user.admin.key/0/0", "/user_id"] {
        with(&[database[0], ("SESSION_SUBJECT_POINTER", pointer)]).expect(pointer);
    }
}

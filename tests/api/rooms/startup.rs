//! The room source at start-up and in the logs: the binary as a process.

use super::*;

/// `serve` with `extra`, expected to exit: its code and stderr.
fn serve_until_exit(extra: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = bin();
    cmd.envs(base_env())
        .envs(extra.iter().copied())
        .arg("serve")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let status = wait_bounded(&mut child, "a start that must fail to end");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status.code(), err)
}

#[tokio::test]
async fn a_query_that_does_not_prepare_stops_the_start_with_postgres_message() {
    let db = Memberships::create().await;
    let url = database_url();
    let s = &db.schema.name;
    let cases = [
        (
            format!("select room from {s}.nope where user_id = $1"),
            format!("relation \"{s}.nope\" does not exist"),
        ),
        (
            format!("select document_id from {s}.memberships where user_id = $1"),
            "type int8".to_owned(),
        ),
        (
            format!("select user_id, user_id from {s}.memberships where user_id = $1"),
            "2 columns".to_owned(),
        ),
        (
            format!("select 'd' from {s}.memberships where document_id = $1"),
            "operator does not exist: bigint = text".to_owned(),
        ),
    ];
    for (query, says) in cases {
        let (code, err) = serve_until_exit(&[("ROOMS_QUERY", &query), ("DATABASE_URL", &url)]);
        assert_eq!(code, Some(2), "{query}: {err}");
        assert!(err.contains("ROOMS_QUERY"), "{err}");
        assert!(err.contains(&says), "{query}: wanted {says:?} in {err}");
    }
}

#[tokio::test]
async fn a_database_down_at_start_up_is_not_fatal_and_readyz_says_so() {
    let closed = free_port();
    let url = format!("postgres://postgres@127.0.0.1:{closed}/test");
    let server = ServerProcess::start(&[
        ("ROOMS_QUERY", "select 'document-' || $1"),
        ("ROOMS_DATABASE_URL", &url),
        ("ROOMS_TIMEOUT", "500ms"),
    ]);
    let client = reqwest::Client::new();
    let ready = client.get(server.url("/readyz")).send().await.unwrap();
    expect_error(ready, 503, "rooms_unavailable").await;
    let res = client
        .post(server.url("/api/realtime-token"))
        .header("Cookie", session_cookie("alice"))
        .send()
        .await
        .unwrap();
    expect_error(res, 503, "rooms_unavailable").await;
    let log = server.log_text();
    assert!(log.contains("room source not checked at start-up"), "{log}");
    assert!(log.contains("ROOMS_QUERY"), "{log}");
}

#[tokio::test]
async fn dropped_values_are_logged_without_the_values() {
    let db = Memberships::create().await;
    db.execute(
        "CREATE TABLE {s}.grants (user_id text, room text);
         INSERT INTO {s}.grants VALUES ('alice', 'document-7'), ('alice', 'marker-one,b'),
           ('alice', 'marker two'), ('alice', 'marker*three');",
    )
    .await;
    let query = format!(
        "select room from {}.grants where user_id = $1",
        db.schema.name
    );
    let url = database_url();
    let server = ServerProcess::start(&[
        ("REALTIME_ROOMS", ""),
        ("ROOMS_QUERY", &query),
        ("DATABASE_URL", &url),
    ]);
    let res = reqwest::Client::new()
        .post(server.url("/api/realtime-token"))
        .header("Cookie", session_cookie("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(rooms_of(res).await, ["document-7"]);
    eventually("the line about dropped values", async || {
        server
            .log_text()
            .contains("ROOMS_QUERY returned 3 value(s)")
    })
    .await;
    let log = server.log_text();
    assert!(!log.contains("marker"), "a value was logged: {log}");
}

#[tokio::test]
async fn check_config_prepares_the_query_as_serve_would() {
    let db = Memberships::create().await;
    let url = database_url();
    let good = db.query();
    let bad = format!(
        "select room from {}.nope where user_id = $1",
        db.schema.name
    );
    let closed = format!(
        "postgres://postgres:pw-not-shown@127.0.0.1:{}/test",
        free_port()
    );
    let run = |query: &str, database: &str| {
        run_cli(
            &[
                ("ROOMS_QUERY", query),
                ("DATABASE_URL", database),
                ("ROOMS_TIMEOUT", "500ms"),
            ],
            &["check-config"],
        )
    };
    let out = run(&good, &url);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("room source: checked"),
        "{}",
        stdout(&out)
    );
    let out = run(&bad, &url);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("does not exist"), "{}", stdout(&out));
    let out = run(&good, &closed);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("warning: the room source does not answer"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("pw-not-shown"), "{}", stdout(&out));
}

#[test]
fn the_env_example_query_line_reads_as_written_from_a_dotenv_file() {
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".env.example"),
    )
    .unwrap();
    let line = example
        .lines()
        .find_map(|l| l.strip_prefix("# ROOMS_QUERY="))
        .expect("the commented example in .env.example");
    let dir = scratch_dir().join(unique("dotenv-rooms-"));
    std::fs::create_dir_all(&dir).unwrap();
    let dotenv = format!("ROOMS_QUERY={line}\nDATABASE_URL={}\n", database_url());
    std::fs::write(dir.join(".env"), dotenv).unwrap();
    let out = bin()
        .current_dir(&dir)
        .envs(base_env())
        .arg("check-config")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    // Read as written: PostgreSQL saw $1 and $2, and only misses the table.
    let text = stdout(&out);
    assert!(
        text.contains("relation \"memberships\" does not exist"),
        "{text}{}",
        stderr(&out)
    );
}

#[test]
fn settings_are_checked_naming_the_variable() {
    let error = |overrides: &[(&str, &str)], var: &str| {
        let errors = config_with(overrides).unwrap_err();
        assert!(errors.mentions(var), "{var} not named in {errors}");
        errors.to_string()
    };
    let query = ("ROOMS_QUERY", "select 'document-1' where $1 is not null");
    let db = ("DATABASE_URL", "postgres://u@127.0.0.1/app");
    error(&[query], "ROOMS_DATABASE_URL");
    error(
        &[query, ("ROOMS_DATABASE_URL", "mysql://x")],
        "ROOMS_DATABASE_URL",
    );
    error(&[query, db, ("ROOMS_MAX", "0")], "ROOMS_MAX");
    error(&[query, db, ("ROOMS_TIMEOUT", "forever")], "ROOMS_TIMEOUT");
    let message = error(
        &[("ROOMS_QUERY", "select 'd' from m where u = '{sub}'"), db],
        "ROOMS_QUERY",
    );
    assert!(message.contains("$1"), "{message}");
    error(&[("ROOMS_QUERY", "select 'document-1'"), db], "ROOMS_QUERY");
    error(
        &[
            query,
            ("DATABASE_URL", "postgres://u@h/app?sslmode=sometimes"),
        ],
        "DATABASE_URL",
    );
    // libpq's `options` (a search_path) reaches tokio-postgres with its
    // space intact, not as a form-encoded `+`.
    let in_schema = (
        "DATABASE_URL",
        "postgres://u@h/app?options=-c%20search_path%3Dapp",
    );
    let config = config_with(&[query, in_schema]).unwrap();
    let realtime_token::rooms::SourceSettings::Query(q) = &config.rooms.source else {
        panic!("a query source")
    };
    let url = q.database.url.expose();
    assert!(url.contains("options=-c%20search_path%3Dapp"), "{url}");
    // Passwords stay out of Debug.
    let with_password = config_with(&[
        query,
        ("ROOMS_DATABASE_URL", "postgres://u:pg-pass-0123@h/app"),
    ])
    .unwrap();
    assert!(!format!("{with_password:?}").contains("pg-pass-0123"));
    let url = ("ROOMS_URL", "https://app:url-pass-0123@app.example/rooms");
    let with_password = config_with(&[url]).unwrap();
    assert!(!format!("{with_password:?}").contains("url-pass-0123"));
    // No env grants: fine with a source, refused without one.
    assert!(config_with(&[query, db, ("REALTIME_ROOMS", "")]).is_ok());
    error(&[("REALTIME_ROOMS", "")], "REALTIME_ROOMS");
}

//! `.env` values that dotenv would change: a real Django `startproject`
//! key holding a `$` followed by a letter, pasted unquoted, in double
//! quotes and in single quotes.

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::support::*;

/// Draws keys as `django-admin startproject` writes them (Django's own
/// `SECRET_KEY_INSECURE_PREFIX + get_random_secret_key()`) until one has a
/// `$` followed by a letter (about 4 in 10 do). Keys with a `$` before
/// anything but a letter (`$$`, `${`, a final `$`) are passed over: dotenv
/// cannot parse some of those lines at all, which
/// refuses the whole `.env` (even with the variable set in the process
/// environment, which this test also checks).
const STARTPROJECT_KEY: &str = r#"
import re
from django.core.checks.security.base import SECRET_KEY_INSECURE_PREFIX
from django.core.management.utils import get_random_secret_key
while True:
    key = SECRET_KEY_INSECURE_PREFIX + get_random_secret_key()
    if re.search(r"\$[a-z]", key) and re.fullmatch(r"(?:[^$]|\$[a-z])*", key):
        print(key)
        break
"#;

fn startproject_key() -> String {
    let django = venv("django", "tests/formats/django/requirements.txt");
    let out = Command::new(django.join("bin/python"))
        .args(["-c", STARTPROJECT_KEY])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_owned()
}

/// A directory whose `.env` configures the `django` backend
/// (`signed_cookies`) with `secret_line` as its `SESSION_SECRET` line.
fn dir_with_dotenv(secret_line: &str) -> PathBuf {
    let dir = scratch_dir().join(unique("dotenv-"));
    std::fs::create_dir_all(&dir).unwrap();
    let dotenv = format!(
        "JWT_SECRET={JWT_SECRET}\nJWT_ISSUER={ISSUER}\nJWT_AUDIENCE={AUDIENCE}\n\
         REALTIME_ROOMS=user-{{sub}}\nSESSION_BACKEND=django\n\
         SESSION_DJANGO_ENGINE=signed_cookies\n{secret_line}\nHOST=127.0.0.1\nPORT=0\nWORKERS=1\n"
    );
    std::fs::write(dir.join(".env"), dotenv).unwrap();
    dir
}

#[tokio::test]
async fn a_django_key_with_a_dollar_is_refused_unless_single_quoted() {
    let key = startproject_key();
    for line in [
        format!("SESSION_SECRET={key}"),
        format!("SESSION_SECRET=\"{key}\""),
    ] {
        let dir = dir_with_dotenv(&line);
        for command in ["check-config", "serve"] {
            let out = bin().arg(command).current_dir(&dir).output().unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{command} with {line}: {err}");
            assert!(err.contains("  SESSION_SECRET: "), "{err}");
            assert!(err.contains("single quotes: SESSION_SECRET='...'"), "{err}");
            assert!(!err.contains(&key) && !stdout(&out).contains(&key));
        }
        // The process environment is read as is, and wins over .env.
        let out = bin()
            .arg("check-config")
            .current_dir(&dir)
            .env("SESSION_SECRET", &key)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    // A `${NAME}` reference is meant, and taken as dotenv reads it.
    let dir = dir_with_dotenv(&format!(
        "DJANGO_SECRET_KEY='{key}'\nSESSION_SECRET=${{DJANGO_SECRET_KEY}}"
    ));
    let out = bin()
        .arg("check-config")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();

    // In single quotes the key is read as written: a cookie the real Django
    // signed with it is a 200.
    let schema = unique("rt_dotenv_");
    let user = unique("dana");
    let answer = python_writer(
        "django",
        &json!({"database_url": database_url(), "schema": schema, "cases": [
            {"engine": "signed_cookies", "secret": key, "user": user},
        ]}),
    );
    drop_schema(&schema).await;
    let cookie = cookies(&answer).remove(0);
    let dir = dir_with_dotenv(&format!("SESSION_SECRET='{key}'"));
    let mut cmd = bin();
    cmd.current_dir(&dir).arg("serve");
    let server = ServerProcess::spawn(cmd);
    let res = reqwest::Client::new()
        .post(server.url("/api/realtime-token"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    let (_, claims) = expect_token(res).await;
    assert_eq!(Some(claims.sub.as_str()), answer["subjects"][0].as_str());
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn drop_schema(schema: &str) {
    use deadpool_postgres::tokio_postgres::{connect, NoTls};
    let (client, connection) = connect(&database_url(), NoTls).await.unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

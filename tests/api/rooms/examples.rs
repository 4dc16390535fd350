//! The `ROOMS_QUERY` examples of `docs/src/room-sources.md`, read from the
//! page and run as written against the real frameworks' schemas, with
//! sessions the real frameworks wrote: Django (its own migrations, the
//! `collab` app in tests/formats/django), Rails with Devise (Active
//! Record's migration DSL, tests/formats/devise) and better-auth (its own
//! migration; the Prisma `membership` table from Prisma's SQL, by hand).

use serde_json::{json, Value};

use super::*;

/// The SQL block after `<!-- tested: {name} -->` in the docs page.
fn documented_query(name: &str) -> String {
    let page = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/room-sources.md");
    let text = std::fs::read_to_string(page).unwrap();
    let marker = format!("<!-- tested: {name} -->");
    let after = text.split(&marker).nth(1).expect("the example's marker");
    let block = after.split("```sql\n").nth(1).expect("a sql block");
    block.split("```").next().unwrap().trim().to_owned()
}

/// The test database with `schema` first on the search path, as an app
/// whose tables live there connects.
fn url_in(schema: &PgSchema) -> String {
    format!(
        "{}?options=-c%20search_path%3D{}",
        database_url(),
        schema.name
    )
}

/// The service on `url` with the documented query `example` and `extra`.
async fn service(example: &str, url: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![("DATABASE_URL", url)];
    env.extend_from_slice(extra);
    serve_query(&documented_query(example), &env).await
}

/// `document-<id>` for each title, by the ids the framework gave.
fn rooms(documents: &Value, titles: &[&str]) -> Vec<String> {
    titles
        .iter()
        .map(|t| format!("document-{}", documents[*t]))
        .collect()
}

#[tokio::test]
async fn the_django_example_on_tables_django_migrated() {
    let schema = PgSchema::unique("rooms_django_");
    let request = json!({
        "database_url": database_url(),
        "schema": schema.name,
        "cases": [
            {"engine": "db", "secret": SESSION_SECRET, "user": "alice"},
            {"engine": "db", "secret": SESSION_SECRET, "user": "bob"},
        ],
        "memberships": [
            {"user": "alice", "document": "Roadmap"},
            {"user": "alice", "document": "Budget"},
            {"user": "bob", "document": "Hiring"},
        ],
    });
    let answer = tokio::task::spawn_blocking(move || python_writer("django", &request))
        .await
        .unwrap();
    let written = cookies(&answer);
    let documents = &answer["documents"];
    let url = url_in(&schema);
    let app = service("django", &url, &[("SESSION_BACKEND", "django")]).await;

    let mut alice = rooms_of(app.post_token(Some(&written[0])).await).await;
    alice.sort();
    let mut expected = rooms(documents, &["Roadmap", "Budget"]);
    expected.sort();
    assert_eq!(alice, expected);
    let bob = rooms(documents, &["Hiring"]);
    assert_eq!(rooms_of(app.post_token(Some(&written[1])).await).await, bob);
    let res = app.post_json(&written[0], json!({ "rooms": bob })).await;
    expect_error(res, 403, "room_not_allowed").await;
}

#[tokio::test]
async fn the_rails_example_on_tables_active_record_made() {
    let schema = PgSchema::unique("rooms_rails_");
    let password = "correct horse battery staple";
    let request = json!({
        "database_url": database_url(),
        "schema": schema.name,
        "secret": SESSION_SECRET,
        "name": "_app_session",
        "steps": [
            {"create": "alice@example.com", "password": password},
            {"create": "bob@example.com", "password": password},
            {"member": "alice@example.com", "document": "Roadmap"},
            {"member": "bob@example.com", "document": "Hiring"},
            {"login": "alice@example.com", "password": password},
        ],
    });
    let answer = tokio::task::spawn_blocking(move || devise_writer(&request))
        .await
        .unwrap();
    let alice = &cookies(&answer)[0];
    let documents = &answer["documents"];
    let url = url_in(&schema);
    let app = service(
        "rails",
        &url,
        &[
            ("SESSION_BACKEND", "rails"),
            ("SESSION_COOKIE", "_app_session"),
        ],
    )
    .await;
    let granted = rooms_of(app.post_token(Some(alice)).await).await;
    assert_eq!(granted, rooms(documents, &["Roadmap"]));
    let res = app
        .post_json(alice, json!({ "rooms": rooms(documents, &["Hiring"]) }))
        .await;
    expect_error(res, 403, "room_not_allowed").await;
}

#[tokio::test]
async fn the_better_auth_example_on_better_auths_tables() {
    let schema = PgSchema::unique("rooms_better_auth_");
    let email = |who: &str| format!("{who}-{}@example.com", unique(""));
    let request = json!({
        "database_url": database_url(),
        "schema": schema.name,
        "cases": [
            {"secret": SESSION_SECRET, "email": email("alice")},
            {"secret": SESSION_SECRET, "email": email("bob")},
        ],
    });
    let answer = tokio::task::spawn_blocking(move || {
        node_writer("better-auth", &["better-auth", "pg"], &request)
    })
    .await
    .unwrap();
    let written = cookies(&answer);
    let ids: Vec<String> = answer["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    // What `prisma migrate` writes for the documented model.
    let (client, connection) = deadpool_postgres::tokio_postgres::connect(
        &database_url(),
        deadpool_postgres::tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            r#"SET search_path TO {s};
            CREATE TABLE "membership" (
                "id" TEXT NOT NULL,
                "userId" TEXT NOT NULL,
                "documentId" TEXT NOT NULL,

                CONSTRAINT "membership_pkey" PRIMARY KEY ("id")
            );
            CREATE UNIQUE INDEX "membership_userId_documentId_key" ON "membership"("userId", "documentId");
            ALTER TABLE "membership" ADD CONSTRAINT "membership_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;"#,
            s = schema.name
        ))
        .await
        .unwrap();
    for (id, user, document) in [("m1", &ids[0], "roadmap"), ("m2", &ids[1], "hiring")] {
        client
            .execute(
                &format!(
                    r#"INSERT INTO {}."membership" VALUES ($1, $2, $3)"#,
                    schema.name
                ),
                &[&id, user, &document],
            )
            .await
            .unwrap();
    }
    let url = url_in(&schema);
    let app = service("better-auth", &url, &[("SESSION_BACKEND", "better-auth")]).await;
    let alice = &written[0];
    assert_eq!(
        rooms_of(app.post_token(Some(alice)).await).await,
        ["document-roadmap"]
    );
    let res = app
        .post_json(alice, json!({"rooms": ["document-hiring"]}))
        .await;
    expect_error(res, 403, "room_not_allowed").await;
    assert_eq!(
        rooms_of(app.post_token(Some(&written[1])).await).await,
        ["document-hiring"]
    );
}

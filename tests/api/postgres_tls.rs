//! PostgreSQL over TLS with libpq's `sslmode` meanings: a private cluster
//! (initdb on a free port, run as the `postgres` user) with `ssl=on` and
//! `hostssl`-only access, its certificate for `localhost` from a test CA.

use std::path::PathBuf;
use std::process::Command;

use crate::support::*;

/// The private cluster; stopped (immediately) when dropped.
struct TlsPostgres {
    data: PathBuf,
    port: u16,
    ca: String,
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_bin("pg_ctl"))
            .args(["stop", "-m", "immediate", "-D"])
            .arg(&self.data)
            .output();
    }
}

/// A PostgreSQL server program from Debian's packages.
fn pg_bin(name: &str) -> PathBuf {
    let lib = PathBuf::from("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(&lib)
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL's server programs are needed in {}: {e}",
                lib.display()
            )
        })
        .map(|e| e.unwrap().path())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a PostgreSQL version")
        .join("bin")
        .join(name)
}

fn as_postgres(program: PathBuf) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).arg(program);
    cmd
}

fn start_tls_postgres() -> TlsPostgres {
    let dir = scratch_dir().join(unique("pg-tls-"));
    std::fs::create_dir_all(&dir).unwrap();
    test_certificates(&dir);
    run(Command::new("chown").args(["-R", "postgres"]).arg(&dir));
    run(Command::new("chmod").arg("600").arg(dir.join("server.key")));
    let data = dir.join("data");
    run(as_postgres(pg_bin("initdb"))
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
        .arg(&data));
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all trust\n\
         hostssl all all 127.0.0.1/32 trust\n\
         hostssl all all ::1/128 trust\n\
         hostnossl all all 0.0.0.0/0 reject\n\
         hostnossl all all ::/0 reject\n",
    )
    .unwrap();
    let port = free_port();
    let options = format!(
        "-p {port} -c listen_addresses=localhost -c ssl=on -c ssl_cert_file={0}/server.pem \
         -c ssl_key_file={0}/server.key -c unix_socket_directories={0} -c fsync=off",
        dir.display()
    );
    let server = TlsPostgres {
        data: data.clone(),
        port,
        ca: dir.join("ca.pem").to_str().unwrap().to_owned(),
    };
    run(as_postgres(pg_bin("pg_ctl"))
        .args(["start", "-w", "-t", "30", "-l"])
        .arg(dir.join("server.log"))
        .arg("-o")
        .arg(&options)
        .arg("-D")
        .arg(&data));
    let sql = "CREATE TABLE session (sid varchar PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL);\
               INSERT INTO session VALUES ('tls-sid', '{\"userId\": \"pg-tls-user\"}', now() + interval '1 hour');";
    run(Command::new("psql")
        .arg(format!(
            "host=localhost port={port} user=postgres dbname=postgres sslmode=require"
        ))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]));
    server
}

#[tokio::test]
async fn sslmode_means_what_it_means_in_libpq() {
    let pg = tokio::task::spawn_blocking(start_tls_postgres)
        .await
        .unwrap();
    let cookie = express_cookie("tls-sid");
    let (port, ca) = (pg.port, pg.ca.clone());
    let url =
        |host: &str, query: &str| format!("postgres://postgres@{host}:{port}/postgres?{query}");
    let cases = [
        (
            url(
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
            200,
        ),
        // The certificate names localhost, not 127.0.0.1 ...
        (
            url(
                "127.0.0.1",
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
            503,
        ),
        // ... which verify-ca does not check.
        (
            url("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca}")),
            200,
        ),
        // The system's roots do not know the test CA.
        (url("localhost", "sslmode=verify-full"), 503),
        // Encrypted, unverified (libpq's require and prefer).
        (url("localhost", "sslmode=require"), 200),
        (url("localhost", "sslmode=prefer"), 200),
        (url("localhost", ""), 200),
        // hostssl only: plaintext is refused by the server.
        (url("localhost", "sslmode=disable"), 503),
    ];
    for (database_url, want) in cases {
        let app = spawn_app_with(&[
            ("SESSION_BACKEND", "postgres"),
            ("DATABASE_URL", &database_url),
            ("SESSION_LOOKUP_TIMEOUT", "2s"),
        ])
        .await;
        let res = app.post_token(Some(&cookie)).await;
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert_eq!(status, want, "{database_url}: {body}");
        if want == 503 {
            assert!(body.contains("session_backend_unavailable") && !body.contains("token\""));
        }
    }
}

//! The real Redis and PostgreSQL the tests use, a private redis-server
//! whose command counts are one test's, a TCP proxy to take them down, and
//! a connect-pg-simple session table.

use realtime_token::session::{codec::CookieSigner, cookies::percent_encode};

use super::{eventually, free_port, scratch_dir, KillOnDrop, SESSION_SECRET};

/// The Redis the tests use (`.ci/run` exports `REDIS_URL`).
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The PostgreSQL the tests use (`.ci/run` exports `DATABASE_URL`).
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A name no other test uses (per-test key prefixes and tables).
pub fn unique(prefix: &str) -> String {
    use rand::RngCore as _;
    format!("{prefix}{:016x}", rand::thread_rng().next_u64())
}

/// `connect.sid=<s:sid.sig, percent-encoded>` signed with the test secret.
pub fn express_cookie(sid: &str) -> String {
    let signer = CookieSigner::new([SESSION_SECRET]);
    format!("connect.sid={}", percent_encode(&signer.sign(sid)))
}

/// What [`FaultProxy`] does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Forward to the target.
    Up,
    /// Close every connection at once (the store is down).
    Down,
    /// Accept and never answer (the store hangs).
    Hang,
}

/// A TCP proxy in front of a real server, to take it "down" and back up
/// without stopping the server other tests share.
pub struct FaultProxy {
    pub port: u16,
    /// Connections accepted so far.
    pub accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    mode: std::sync::Arc<std::sync::Mutex<ProxyMode>>,
    live: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl FaultProxy {
    pub async fn start(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = std::sync::Arc::new(std::sync::Mutex::new(ProxyMode::Up));
        let live = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let target = target.to_owned();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (m, l, a) = (mode.clone(), live.clone(), accepted.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mode = *m.lock().unwrap();
                let target = target.clone();
                let task = tokio::spawn(async move {
                    match mode {
                        ProxyMode::Down => drop(inbound),
                        ProxyMode::Hang => {
                            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                            drop(inbound);
                        }
                        ProxyMode::Up => {
                            if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await
                            {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                                    .await;
                            }
                        }
                    }
                });
                l.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            port,
            accepted,
            mode,
            live,
        }
    }

    /// Switches mode; every open connection is cut.
    pub fn set(&self, mode: ProxyMode) {
        *self.mode.lock().unwrap() = mode;
        for task in self.live.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// A connect-pg-simple session table (its `table.sql`, index and key names
/// left to PostgreSQL so concurrent tests do not clash), dropped at the end.
pub struct SessionTable {
    pub name: String,
    client: deadpool_postgres::tokio_postgres::Client,
}

impl SessionTable {
    pub async fn create() -> Self {
        use deadpool_postgres::tokio_postgres::{connect, NoTls};
        let (client, connection) = connect(&database_url(), NoTls)
            .await
            .expect("PostgreSQL must be running for these tests (DATABASE_URL)");
        tokio::spawn(connection);
        let name = unique("session_");
        client
            .batch_execute(&format!(
                "CREATE TABLE {name} (sid varchar NOT NULL COLLATE \"default\" PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL);
                 CREATE INDEX ON {name} (expire);"
            ))
            .await
            .unwrap();
        Self { name, client }
    }

    /// Writes a session that expires in `expires_in_secs` (negative: expired).
    pub async fn put(&self, sid: &str, sess: serde_json::Value, expires_in_secs: i64) {
        self.client
            .execute(
                &format!(
                    "INSERT INTO {} (sid, sess, expire) VALUES ($1, $2::text::json, to_timestamp(extract(epoch from now()) + $3::bigint))
                     ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expire = excluded.expire",
                    self.name
                ),
                &[&sid, &sess.to_string(), &expires_in_secs],
            )
            .await
            .unwrap();
    }

    pub async fn delete(&self, sid: &str) {
        self.client
            .execute(
                &format!("DELETE FROM {} WHERE sid = $1", self.name),
                &[&sid],
            )
            .await
            .unwrap();
    }

    /// How many rows hold `sid` (0 or 1).
    pub async fn rows(&self, sid: &str) -> i64 {
        self.client
            .query_one(
                &format!("SELECT count(*) FROM {} WHERE sid = $1", self.name),
                &[&sid],
            )
            .await
            .unwrap()
            .get(0)
    }
}

impl Drop for SessionTable {
    fn drop(&mut self) {
        let table = std::mem::take(&mut self.name);
        execute_detached(format!("DROP TABLE IF EXISTS {table}"));
    }
}

/// A PostgreSQL schema no other test uses (e.g. for the tables a real
/// framework migrates), dropped with its tables at the end. It is created
/// by whoever first needs it.
pub struct PgSchema {
    pub name: String,
}

impl PgSchema {
    /// A new name starting with `prefix`.
    pub fn unique(prefix: &str) -> Self {
        Self {
            name: unique(prefix),
        }
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        execute_detached(format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
    }
}

/// Runs `sql` on a connection of its own, best effort and bounded (for
/// clean-ups in `Drop`, when the test is over).
fn execute_detached(sql: String) {
    use deadpool_postgres::tokio_postgres::{connect, NoTls};
    let url = database_url();
    // A separate runtime: Drop may run inside the test's.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let run = async {
                if let Ok((c, conn)) = connect(&url, NoTls).await {
                    tokio::spawn(conn);
                    let _ = c.batch_execute(&sql).await;
                }
            };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), run).await;
        });
    })
    .join()
    .ok();
}

/// A private redis-server on a free port (its command counts are this
/// test's alone); its URL and a connection, once it accepts one.
pub async fn private_redis() -> (KillOnDrop, String, redis::aio::MultiplexedConnection) {
    let port = free_port().to_string();
    let dir = scratch_dir().join(unique("folded-"));
    std::fs::create_dir_all(&dir).unwrap();
    let server = KillOnDrop(
        std::process::Command::new("redis-server")
            .args(["--port", &port, "--save", "", "--appendonly", "no", "--dir"])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed"),
    );
    let url = format!("redis://127.0.0.1:{port}");
    let client = redis::Client::open(url.as_str()).unwrap();
    let conn = eventually("the private redis-server to take connections", async || {
        client.get_multiplexed_async_connection().await.ok()
    })
    .await;
    (server, url, conn)
}

/// How many times `command` ran (INFO commandstats; this counts the
/// commands scripts run too, so only script calls tell round trips).
pub async fn calls(redis: &mut redis::aio::MultiplexedConnection, command: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(redis)
        .await
        .unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

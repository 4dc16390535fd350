//! Node drivers (`driver.mjs` in a `tests/<project>`) that speak JSON lines
//! on stdout: a first line once their servers listen (their ports), then,
//! after the test sends them the service's port on stdin, a result line.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{finish_driver, stdout_lines};

/// A running driver.
pub struct Driver {
    child: Child,
    rx: Receiver<String>,
    deadline: Instant,
}

impl Driver {
    /// Starts `node driver.mjs` in `dir` with `env`; its first line, within
    /// 60 s. The driver is killed if it runs past `timeout` in all.
    pub async fn start(
        dir: PathBuf,
        env: Vec<(&'static str, String)>,
        timeout: Duration,
    ) -> (Self, Value) {
        let deadline = Instant::now() + timeout;
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new("node")
                .arg("driver.mjs")
                .current_dir(&dir)
                .envs(env)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("node must be installed for the browser tests");
            let rx = stdout_lines(child.stdout.take().unwrap());
            let Ok(first) = rx.recv_timeout(Duration::from_secs(60)) else {
                let (status, _, stderr) = finish_driver(child, rx, Instant::now());
                panic!("the driver printed no first line (exit {status:?}): {stderr}");
            };
            let first = serde_json::from_str(&first).expect("a JSON first line");
            (
                Self {
                    child,
                    rx,
                    deadline,
                },
                first,
            )
        })
        .await
        .unwrap()
    }

    /// Sends the service's port, then waits for the result line; with the
    /// exit status and a context for assertion messages (the result and
    /// the driver's stderr).
    pub async fn run(mut self, service_port: &str) -> (Value, Option<i32>, String) {
        writeln!(self.child.stdin.take().unwrap(), "{service_port}").unwrap();
        let Self {
            child,
            rx,
            deadline,
        } = self;
        let (status, lines, stderr) =
            tokio::task::spawn_blocking(move || finish_driver(child, rx, deadline))
                .await
                .unwrap();
        let out: Value = lines
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("no result from the driver (exit {status:?}): {stderr}"));
        let ctx = format!("driver output: {out:#}\nstderr: {stderr}");
        (out, status, ctx)
    }
}

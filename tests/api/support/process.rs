//! The service binary as a separate process: the CLI and `serve`.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{base_env, eventually_blocking};

/// A directory without a `.env`, so spawned binaries read only what we pass.
pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("realtime-token-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The release-independent path of the built binary.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_realtime-token"));
    cmd.env_clear().current_dir(scratch_dir());
    cmd
}

/// Runs the binary with `base_env()` plus `extra` and `args`.
pub fn run_cli(extra: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.envs(base_env()).envs(extra.iter().copied()).args(args);
    cmd.output().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The service binary running as a separate process (for logs, signals).
pub struct ServerProcess {
    pub child: std::process::Child,
    pub port: u16,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The thread reading stderr into `log`; it ends when the process does.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts `realtime-token serve` with `base_env()` plus `extra`, and waits
    /// for its "listening on" log line.
    pub fn start(extra: &[(&str, &str)]) -> Self {
        let mut cmd = bin();
        cmd.envs(base_env())
            .envs(extra.iter().copied())
            .arg("serve");
        Self::spawn(cmd)
    }

    /// Starts `cmd` (a server binary) and waits for its "listening on" line.
    pub fn spawn(mut cmd: Command) -> Self {
        use std::io::BufRead as _;
        let mut child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(port) = line
                    .split("listening on")
                    .nth(1)
                    // ours: "listening on ADDR (...)"; actix's: "listening on: ADDR"
                    .and_then(|rest| rest.trim_start_matches([':', ' ']).split([' ', '"']).next())
                    .and_then(|addr| addr.rsplit(':').next())
                    .and_then(|p| p.parse::<u16>().ok())
                {
                    let _ = tx.send(port);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let port = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("the server did not start: {:?}", log.lock().unwrap()));
        Self {
            child,
            port,
            log,
            reader: Some(reader),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, then for the reader to take its last
    /// lines; its exit code (`None`: ended by a signal).
    pub fn wait_exit(&mut self) -> Option<i32> {
        let status = eventually_blocking("the server to exit", || self.child.try_wait().unwrap());
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        status.code()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `child` to exit; kills it and panics naming `what` when it
/// has not after [`DEADLINE`](super::eventually::DEADLINE).
pub fn wait_bounded(child: &mut std::process::Child, what: &str) -> std::process::ExitStatus {
    let exited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        eventually_blocking(what, || child.try_wait().unwrap())
    }));
    exited.unwrap_or_else(|panic| {
        let _ = child.kill();
        let _ = child.wait();
        std::panic::resume_unwind(panic)
    })
}

/// A free TCP port on 127.0.0.1 (bound, then released for a child to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process (a private server for one test) killed when dropped,
/// also when the test panics.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends each stdout line of the driver down a channel.
pub fn stdout_lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for the driver to exit (killing it at `deadline`); returns its exit
/// status, remaining stdout lines and stderr.
pub fn finish_driver(
    mut child: Child,
    rx: mpsc::Receiver<String>,
    deadline: Instant,
) -> (Option<i32>, Vec<String>, String) {
    let mut stderr = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, rx.iter().collect(), err.join().unwrap())
}

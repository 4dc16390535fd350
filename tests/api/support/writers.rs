//! Session writers: the real session libraries under `tests/formats/<name>`,
//! run once per test with a JSON request on stdin; they answer JSON on
//! stdout (the cookies the library wrote). No cookie in these tests is made
//! by hand.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::node_project;

/// Longest one writer run may take (Node or Python start-up included).
const WRITER_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `node write.mjs` in `tests/formats/<name>` (installed from its lock
/// file; `modules` are the packages it needs) with `request`.
pub fn node_writer(name: &str, modules: &[&str], request: &Value) -> Value {
    let dir = node_project(&format!("formats/{name}"), modules);
    let mut cmd = Command::new("node");
    cmd.arg("write.mjs");
    run_writer(cmd, &dir, request)
}

/// Runs `cmd` in `dir`, writes `request` to its stdin and parses its stdout;
/// panics with its stderr when it fails, answers no JSON or takes too long.
pub fn run_writer(mut cmd: Command, dir: &Path, request: &Value) -> Value {
    let mut child = cmd
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the writer in {}: {e}", dir.display()));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(request.to_string().as_bytes()).unwrap();
    drop(stdin);
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + WRITER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the writer in {} took over {WRITER_TIMEOUT:?}",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(
        status.success(),
        "the writer in {} failed ({status}): {err}",
        dir.display()
    );
    serde_json::from_str(&out).unwrap_or_else(|e| {
        panic!(
            "the writer in {} answered no JSON ({e}): {out}",
            dir.display()
        )
    })
}

/// The answer's `cookies` array as strings.
pub fn cookies(answer: &Value) -> Vec<String> {
    answer["cookies"]
        .as_array()
        .expect("the writer answers {\"cookies\": [..]}")
        .iter()
        .map(|c| c.as_str().expect("cookie header").to_owned())
        .collect()
}

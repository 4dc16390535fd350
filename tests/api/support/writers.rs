//! Session writers: the real session libraries under `tests/formats/<name>`,
//! run once per test with a JSON request on stdin; they answer JSON on
//! stdout (the cookies the library wrote). No cookie in these tests is made
//! by hand.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{node_project, wait_bounded};

/// Runs `node write.mjs` in `tests/formats/<name>` (installed from its lock
/// file by `scripts/test`; `modules` are the packages it needs) with
/// `request`.
pub fn node_writer(name: &str, modules: &[&str], request: &Value) -> Value {
    let dir = node_project(&format!("formats/{name}"), modules);
    let mut cmd = Command::new("node");
    cmd.arg("write.mjs");
    run_writer(cmd, &dir, request)
}

/// Runs `python write.py` in `tests/formats/<name>` with `request`, from
/// the virtual environment `target/venv-<name>` that `scripts/test` makes
/// from the folder's `requirements.txt` (exact pins).
pub fn python_writer(name: &str, request: &Value) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/formats")
        .join(name);
    let requirements = format!("tests/formats/{name}/requirements.txt");
    let mut cmd = Command::new(venv(name, &requirements).join("bin/python"));
    // No __pycache__ left in the source tree.
    cmd.arg("write.py").env("PYTHONDONTWRITEBYTECODE", "1");
    run_writer(cmd, &dir, request)
}

/// Runs `ruby write.rb` in `tests/formats/<name>` with `request`, with
/// Debian's Ruby, ActiveSupport and ActionPack that `scripts/test` installs.
pub fn ruby_writer(name: &str, request: &Value) -> Value {
    ruby_loads(
        r#"require "active_support"; require "action_dispatch""#,
        "the rails format tests need Ruby with ActiveSupport and ActionPack",
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/formats")
        .join(name);
    let mut cmd = Command::new("ruby");
    cmd.arg("write.rb");
    run_writer(cmd, &dir, request)
}

/// Runs `ruby write.rb` in `tests/formats/devise` (a Rails app with Devise
/// on PostgreSQL) with `request`, with the Debian packages `scripts/test`
/// installs.
pub fn devise_writer(request: &Value) -> Value {
    ruby_loads(
        r#"require "rails"; require "active_record"; require "pg"; require "devise""#,
        "the Devise tests need Ruby with Rails, Active Record, pg and Devise",
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/formats/devise");
    let mut cmd = Command::new("ruby");
    cmd.arg("write.rb");
    run_writer(cmd, &dir, request)
}

/// Panics saying `need` and how to install it unless `ruby -e requires`
/// succeeds.
fn ruby_loads(requires: &str, need: &str) {
    let loads = Command::new("ruby")
        .args(["-e", requires])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        loads,
        "{need}: run scripts/test, which installs Debian's ruby, ruby-activesupport, \
         ruby-actionpack, ruby-railties, ruby-activerecord, ruby-pg, ruby-devise, ruby-warden \
         and ruby-bcrypt (bookworm: Rails 6.1, Devise 4.8)"
    );
}

/// The virtual environment `target/venv-<name>` that `scripts/test` makes
/// with `scripts/venv <name> <requirements>` (a path from the repository
/// root); panics with that command when it is missing or holds other pins.
pub fn venv(name: &str, requirements: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wanted = std::fs::read_to_string(root.join(requirements))
        .unwrap_or_else(|e| panic!("{requirements}: {e}"));
    let venv = root.join("target").join(format!("venv-{name}"));
    let installed = std::fs::read_to_string(venv.join("installed-requirements.txt"));
    assert!(
        installed.ok().as_deref() == Some(wanted.as_str()),
        "target/venv-{name} does not hold {requirements} as pinned: run scripts/test, which \
         makes it (or `scripts/venv {name} {requirements}`)"
    );
    venv
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
    let what = format!("the writer in {} to finish", dir.display());
    let status = wait_bounded(&mut child, &what);
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

//! Session writers: the real session libraries under `tests/formats/<name>`,
//! run once per test with a JSON request on stdin; they answer JSON on
//! stdout (the cookies the library wrote). No cookie in these tests is made
//! by hand.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{node_project, wait_bounded};

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

/// Runs `python write.py` in `tests/formats/<name>` with `request`, from a
/// virtual environment in `target/venv-<name>` made from the folder's
/// `requirements.txt` (exact pins) when missing.
pub fn python_writer(name: &str, request: &Value) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/formats").join(name);
    let venv = root.join("target").join(format!("venv-{name}"));
    python_venv(&venv, &dir.join("requirements.txt"));
    let mut cmd = Command::new(venv.join("bin/python"));
    // No __pycache__ left in the source tree.
    cmd.arg("write.py").env("PYTHONDONTWRITEBYTECODE", "1");
    run_writer(cmd, &dir, request)
}

/// Runs `ruby write.rb` in `tests/formats/<name>` with `request`, after
/// making sure Ruby, ActiveSupport and ActionPack are there (Debian's
/// packages, installed with apt when missing).
pub fn ruby_writer(name: &str, request: &Value) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/formats")
        .join(name);
    debian_rails();
    let mut cmd = Command::new("ruby");
    cmd.arg("write.rb");
    run_writer(cmd, &dir, request)
}

/// Runs `ruby write.rb` in `tests/formats/devise` (a Rails app with Devise
/// on PostgreSQL) with `request`. Its Debian packages are installed by
/// `scripts/test`; without them this panics saying what to install.
pub fn devise_writer(request: &Value) -> Value {
    let loads = Command::new("ruby")
        .args([
            "-e",
            r#"require "rails"; require "active_record"; require "pg"; require "devise""#,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(loads, "{DEVISE_HINT}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/formats/devise");
    let mut cmd = Command::new("ruby");
    cmd.arg("write.rb");
    run_writer(cmd, &dir, request)
}

/// What to do when the Devise writer cannot load its gems.
const DEVISE_HINT: &str = "the Devise tests need Ruby with Rails, Active Record, pg and Devise: \
    run scripts/test, or `apt-get install ruby-railties ruby-activerecord ruby-pg ruby-devise \
    ruby-warden ruby-bcrypt` as root (Debian bookworm: Rails 6.1, Devise 4.8)";

/// Longest the apt install of Ruby and Rails may take.
const APT_TIMEOUT: Duration = Duration::from_secs(600);

/// `ruby` able to load ActiveSupport and ActionDispatch, installing
/// `ruby ruby-activesupport ruby-actionpack` with apt (once per run) when it
/// is not; panics saying what to install when apt cannot.
fn debian_rails() {
    static LOCK: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut ready = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if *ready {
        return;
    }
    let loads = || {
        Command::new("ruby")
            .args([
                "-e",
                r#"require "active_support"; require "action_dispatch""#,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !loads() {
        let apt = |args: &[&str]| {
            let what = format!("apt-get {}", args.join(" "));
            let mut child = Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("{what}: {e}; {RAILS_HINT}"));
            let status = wait_bounded(&mut child, APT_TIMEOUT, &what);
            assert!(status.success(), "{what} failed ({status}); {RAILS_HINT}");
        };
        apt(&["update", "-q"]);
        apt(&[
            "install",
            "-y",
            "-q",
            "ruby",
            "ruby-activesupport",
            "ruby-actionpack",
        ]);
        assert!(loads(), "ruby still cannot load Rails; {RAILS_HINT}");
    }
    *ready = true;
}

/// What to do when the Rails writer cannot be set up.
const RAILS_HINT: &str = "the rails format tests need Ruby with ActiveSupport and ActionPack: \
    run `apt-get install ruby ruby-activesupport ruby-actionpack` as root (Debian bookworm: Rails 6.1)";

/// Makes `venv` with `requirements` installed, once per run; a marker file
/// holding the requirements skips pip when they have not changed.
pub fn python_venv(venv: &Path, requirements: &Path) {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let wanted = std::fs::read_to_string(requirements)
        .unwrap_or_else(|e| panic!("{}: {e}", requirements.display()));
    let marker = venv.join("installed-requirements.txt");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return;
    }
    let run = |cmd: &mut Command, what: &str| {
        let status = cmd
            .stdin(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("{what}: {e}; install python3 with venv and pip"));
        assert!(status.success(), "{what} failed ({status})");
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(venv),
        "python3 -m venv",
    );
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check", "-r"])
            .arg(requirements),
        "pip install -r requirements.txt",
    );
    std::fs::write(&marker, wanted).unwrap();
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
    let what = format!("the writer in {}", dir.display());
    let status = wait_bounded(&mut child, WRITER_TIMEOUT, &what);
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

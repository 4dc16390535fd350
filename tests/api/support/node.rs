//! The Node test peers (`tests/node`, `tests/express`, `tests/browser`),
//! installed from their lock files once per run.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use super::wait_bounded;

/// Longest an `npm ci` may take.
const NPM_CI_TIMEOUT: Duration = Duration::from_secs(300);

/// `tests/<name>`, with its `node_modules` installed from its lock file
/// (`npm ci`) unless every one of `modules` is already there.
pub fn node_project(name: &str, modules: &[&str]) -> PathBuf {
    static READY: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    let mut ready = READY.lock().unwrap_or_else(|p| p.into_inner());
    let ready = ready.get_or_insert_with(HashSet::new);
    if ready.contains(name)
        || modules
            .iter()
            .all(|m| dir.join("node_modules").join(m).exists())
    {
        ready.insert(name.to_owned());
        return dir;
    }
    let mut child = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--silent"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("npm is needed for the tests in tests/{name} ({e}); install Node.js and npm")
        });
    let status = wait_bounded(
        &mut child,
        NPM_CI_TIMEOUT,
        &format!("npm ci in tests/{name}"),
    );
    assert!(status.success(), "npm ci failed in tests/{name}");
    ready.insert(name.to_owned());
    dir
}

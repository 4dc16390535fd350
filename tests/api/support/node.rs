//! The Node test peers (`tests/node`, `tests/express`, `tests/browser`,
//! `tests/collab`, `tests/formats/*`), installed from their lock files by
//! `scripts/test`; tests only use them.

use std::path::PathBuf;

/// `tests/<name>`, whose `node_modules` must hold every one of `modules`;
/// panics naming the install step when one is missing.
pub fn node_project(name: &str, modules: &[&str]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    let missing: Vec<&str> = modules
        .iter()
        .copied()
        .filter(|m| !dir.join("node_modules").join(m).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "tests/{name} lacks the Node modules {missing:?}: run scripts/test, which installs \
         them (or `npm ci` in tests/{name})"
    );
    dir
}

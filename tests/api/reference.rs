//! The configuration reference (`realtime-token reference`): the generated
//! page is its output, and it covers every variable the code and
//! `.env.example` name, with defaults that are the code's.

use std::collections::HashMap;
use std::path::Path;

use realtime_token::config::reference::{sections, REGENERATE};
use realtime_token::session::preset::PRESETS;
use realtime_token::Config;

use crate::support::*;

const PAGE: &str = "docs/src/configuration.md";

/// How to add the missing row of `name`, read in `file` when known: the
/// table it goes in, and the regeneration.
fn add_a_row(name: &str, file: Option<&str>) -> String {
    let table = match file.unwrap_or("") {
        "src/config/jwt.rs" => "`TOKEN_VARS` in src/config/jwt.rs".to_owned(),
        "src/config/ops.rs" => {
            "`SERVER_VARS`, `POLICY_VARS` or `OPS_VARS` in src/config/ops.rs".into()
        }
        "src/config/limits.rs" => "`LIMIT_VARS` in src/config/limits.rs".into(),
        "src/config/session.rs" | "src/config/store.rs" => {
            "`SESSION_VARS` or `STORE_VARS` in src/config/session_rows.rs".into()
        }
        codec if codec.starts_with("src/session/codec/") => {
            format!("the backend's `OPTIONS` (its preset's `.options(...)`) in {codec}")
        }
        "" => "the table beside the code that reads it (`TOKEN_VARS`, `SERVER_VARS`, \
               `POLICY_VARS`, `OPS_VARS`, `LIMIT_VARS`, `SESSION_VARS`, `STORE_VARS` in \
               src/config/, a backend's `OPTIONS`)"
            .into(),
        other => format!(
            "a table beside its reader, e.g. `pub(super) const ..._VARS: &[EnvVar]` in {other}, \
             listed in `sections()` in src/config/reference.rs"
        ),
    };
    format!(
        "add `EnvVar::plain(\"{name}\", \"One line of meaning.\").defaults_to(\"`value`\").read_by(\"who\")` \
         (`EnvVar::secret` for a secret, `EnvVar::url` for a URL that may hold a password) to \
         {table}; then run `{REGENERATE}`"
    )
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `realtime-token reference`, run as a user runs it.
fn reference() -> String {
    let out = bin().arg("reference").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

/// The variables the reference has a row for.
fn names_in(reference: &str) -> Vec<String> {
    reference
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split_once('`'))
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[test]
fn the_configuration_page_is_the_reference_command_output() {
    let generated = reference();
    let page = std::fs::read_to_string(root().join(PAGE)).unwrap_or_default();
    if page != generated {
        let (line, (want, got)) = generated
            .lines()
            .chain(std::iter::repeat(""))
            .zip(page.lines().chain(std::iter::repeat("")))
            .enumerate()
            .find(|(_, (want, got))| want != got)
            .unwrap_or((0, ("(line endings)", "(line endings)")));
        panic!(
            "{PAGE} is not the output of `realtime-token reference`; run `{REGENERATE}`.\n\
             First difference, line {}:\n  generated: {want}\n  page:      {got}",
            line + 1
        );
    }
}

#[test]
fn every_variable_in_env_example_is_in_the_reference() {
    let known = names_in(&reference());
    let example = std::fs::read_to_string(root().join(".env.example")).unwrap();
    // `NAME=` lines, and `# NAME=` (documented, commented out).
    let named = example.lines().filter_map(|line| {
        let line = line.trim_start_matches(['#', ' ']);
        let (name, _) = line.split_once('=')?;
        is_variable(name).then_some(name)
    });
    let mut seen = 0;
    for name in named {
        seen += 1;
        assert!(
            known.iter().any(|k| k == name),
            "{name} is in .env.example but not in the reference: {}",
            add_a_row(name, None)
        );
    }
    assert!(seen > 60, "read only {seen} variables from .env.example");
}

#[test]
fn every_variable_the_code_reads_is_in_the_reference() {
    let known = names_in(&reference());
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut seen = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for name in variables_read(&text) {
            seen += 1;
            let rel = file.strip_prefix(root()).unwrap().display().to_string();
            assert!(
                known.iter().any(|k| k == name),
                "{name} is read in {rel} but has no row in the reference: {}",
                add_a_row(name, Some(&rel))
            );
        }
    }
    assert!(seen > 60, "found only {seen} variable names in src/");
}

#[test]
fn a_variable_set_to_its_documented_default_changes_nothing() {
    // Rows whose default is one value (`600/m`), under configurations in
    // which their reader runs.
    let backends: &[&[(&str, &str)]] = &[
        &[],
        &[
            ("SESSION_BACKEND", "redis"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
        ],
        &[
            ("SESSION_BACKEND", "upstream"),
            ("SESSION_UPSTREAM_URL", "http://127.0.0.1:3000/me"),
        ],
        &[
            ("RATE_LIMIT_STORE", "redis"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
        ],
    ];
    let mut checked = Vec::new();
    let shared = sections()
        .into_iter()
        .filter(|s| !s.title.contains("each backend's own"));
    for row in shared.flat_map(|s| s.rows) {
        let Some(value) = row
            .default
            .strip_prefix('`')
            .and_then(|d| d.strip_suffix('`'))
            .filter(|d| !d.contains('`'))
        else {
            continue;
        };
        for extra in backends {
            let backend = extra
                .iter()
                .find(|(k, _)| *k == "SESSION_BACKEND")
                .map_or(PRESETS[0].name, |(_, v)| v);
            if !backend_reads(&row.read_by, backend) {
                continue;
            }
            let mut env: HashMap<String, String> = base_env();
            env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            env.remove(row.name);
            let unset = Config::from_lookup(&|k| env.get(k).cloned());
            env.insert(row.name.into(), value.into());
            let set = Config::from_lookup(&|k| env.get(k).cloned());
            assert_eq!(
                format!("{unset:?}"),
                format!("{set:?}"),
                "{}={value} (its documented default) is not what unset means, with {extra:?}",
                row.name
            );
        }
        checked.push(row.name);
    }
    for name in [
        "TOKEN_TTL",
        "RATE_LIMIT_IP",
        "SESSION_LOOKUP_TIMEOUT",
        "PORT",
    ] {
        assert!(checked.contains(&name), "{name} not checked: {checked:?}");
    }
}

#[test]
fn check_config_explains_a_refused_variable_with_the_reference_meaning() {
    let out = run_cli(&[("TOKEN_TTL", "soon")], &["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    let meaning = sections()
        .into_iter()
        .flat_map(|s| s.rows)
        .find(|r| r.name == "TOKEN_TTL")
        .unwrap()
        .meaning;
    let err = stderr(&out);
    assert!(err.contains(&format!("(TOKEN_TTL: {meaning})")), "{err}");
    assert!(reference().contains(meaning));
    assert!(err.contains("realtime-token reference"), "{err}");
}

/// Whether a row's "read by" includes `backend` (a row naming no backend
/// is read whatever the backend).
fn backend_reads(read_by: &str, backend: &str) -> bool {
    let quoted = |name: &str| read_by.contains(&format!("`{name}`"));
    match read_by.strip_prefix("every backend") {
        Some(rest) if rest.starts_with(" but") => !quoted(backend),
        Some(_) => true,
        None => quoted(backend) || !PRESETS.iter().any(|p| quoted(p.name)),
    }
}

fn is_variable(name: &str) -> bool {
    // A name ends in a letter or digit (`RS256_` is a prefix in a test).
    name.len() > 2
        && !name.ends_with('_')
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The environment variables a source file names: string literals shaped
/// like one (`"SESSION_SECRET"`), or any upper-case literal read by name
/// (`get("PORT")`); not `env!` (the build's variables).
fn variables_read(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.contains("env!(")) {
        let parts: Vec<&str> = line.split('"').collect();
        for (i, literal) in parts.iter().enumerate().skip(1).step_by(2) {
            let read_by_name = ["get(", "get_secret(", "lookup(", "fail("]
                .iter()
                .any(|call| parts[i - 1].ends_with(call));
            if is_variable(literal) && (literal.contains('_') || read_by_name) {
                out.push(*literal);
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

//! The layering of `src/`, checked from the source: each top-level module
//! imports only modules of lower layers, so no import cycle can form.

use std::collections::BTreeMap;
use std::path::Path;

/// Top-level modules from the bottom up; a module may use those before it.
/// Modules on one line are one layer and must not use each other.
const LAYERS: &[&[&str]] = &[
    &["b64"],
    &["secret", "principal", "drain", "redis_conn", "env_var"],
    &["telemetry", "metrics", "policy", "admin", "ratelimit"],
    &["token"],
    &["session"],
    &["rooms"],
    &["config", "error"],
    &["state"],
    &["http"],
    &["routes"],
    &["app"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every `crate::<module>` a file mentions, without the ones in comments.
fn crate_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
        // `use crate::{a, b::c}` names several modules at once.
        if let Some(group) = code.split("crate::{").nth(1) {
            for part in group.split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        }
    }
    out
}

fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn modules_import_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut violations = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if top == "lib" || top == "main" {
            continue;
        }
        let Some(own) = layer_of(&top) else {
            violations.insert(top.clone(), "is in no layer of LAYERS".to_owned());
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for used in crate_refs(&text) {
            if used == top {
                continue;
            }
            match layer_of(&used) {
                Some(layer) if layer < own => {}
                _ => {
                    violations.insert(
                        format!("{} uses crate::{used}", rel.display()),
                        format!(
                            "`{top}` is in layer {own}, `{used}` in {:?}",
                            layer_of(&used)
                        ),
                    );
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layering (see LAYERS):\n{}",
        violations
            .iter()
            .map(|(k, v)| format!("  {k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn no_source_file_is_over_400_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > 400).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these files: {long:?}");
}

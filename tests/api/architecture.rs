//! The layering of `src/`, checked from the source: each top-level module
//! imports only modules of lower layers, and inside every folder the modules
//! import each other without a cycle (`architecture/graph.rs`), so no import
//! cycle can form at any level.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use graph::Crate;

mod graph;
mod parse;

/// Top-level modules from the bottom up; a module may use those before it.
/// Modules on one line are one layer and must not use each other.
#[rustfmt::skip]
const LAYERS: &[&[&str]] = &[
    &["b64"],
    &["secret", "principal", "drain", "redis_conn", "env_var", "address"],
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

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

fn read_src() -> Crate {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.sort();
    Crate::read(&src, &files)
}

#[test]
fn modules_import_only_lower_layers() {
    let mut violations = BTreeMap::new();
    for (from, to, evidence) in read_src().edges() {
        let (Some(top), Some(used)) = (from.first(), to.first()) else {
            continue;
        };
        if top == used {
            continue;
        }
        let Some(own) = layer_of(top) else {
            violations.insert(format!("`{top}`"), "is in no layer of LAYERS".to_owned());
            continue;
        };
        if layer_of(used).is_none_or(|layer| layer >= own) {
            let layers = format!(
                "`{top}` is in layer {own}, `{used}` in {:?}",
                layer_of(used)
            );
            violations
                .entry(format!("{top} uses {used}"))
                .or_insert(format!("{layers}: {evidence}"));
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

/// Inside every folder, its modules import each other without a cycle, so
/// they stand on floors. The floors are printed (`-- --nocapture`); a cycle
/// fails with the imports that close it.
#[test]
fn no_import_cycle_in_any_folder() {
    let mut found = Vec::new();
    for (folder, graph) in read_src().folders() {
        let name = format!(
            "src/{}",
            folder.iter().map(|s| format!("{s}/")).collect::<String>()
        );
        for cycle in graph::cycles(&graph) {
            let steps: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("    {} → {}: {}", w[0], w[1], graph[&w[0]][&w[1]]))
                .collect();
            found.push(format!(
                "  {name}: {}\n{}",
                cycle.join(" → "),
                steps.join("\n")
            ));
        }
        let floors: Vec<String> = graph::floors(&graph).iter().map(|f| f.join(" ")).collect();
        println!("{name}\n  {}", floors.join("\n  "));
        if !graph::cycles(&graph).is_empty() {
            for (node, deps) in &graph {
                for (dep, evidence) in deps {
                    println!("  {node} → {dep}: {evidence}");
                }
            }
        }
    }
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
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

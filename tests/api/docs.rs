//! The documentation holds together: every relative link and `#anchor` in
//! README.md and docs/**/*.md resolves (anchors as GitHub makes them from
//! headings), every repository path named in code (`src/...`,
//! `tests/api/x.rs::test_name`) exists, every file a page includes
//! (`{{#include ...}}`) exists, every page is in the book's SUMMARY.md,
//! and README.md stays a front door of at most 300 lines.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every Markdown file under docs/, relative to the root.
fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut out = vec![root().join("README.md")];
    walk(&root().join("docs"), &mut out);
    out.sort();
    out.into_iter()
        .map(|p| p.strip_prefix(root()).unwrap().to_owned())
        .collect()
}

fn read(page: &Path) -> String {
    std::fs::read_to_string(root().join(page)).unwrap()
}

/// The lines outside fenced code blocks, numbered from 1.
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(open), Some(m)) if open == m => fence = None,
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

/// A line split into its text outside inline code spans and the spans.
fn split_code(line: &str) -> (String, Vec<String>) {
    let (mut text, mut spans) = (String::new(), Vec::new());
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].len() - rest[start..].trim_start_matches('`').len();
        let after = &rest[start + ticks..];
        let close = "`".repeat(ticks);
        let Some(end) = after.find(&close) else { break };
        text.push_str(&rest[..start]);
        spans.push(after[..end].trim().to_owned());
        rest = &after[end + ticks..];
    }
    text.push_str(rest);
    (text, spans)
}

/// GitHub's anchor for a heading: its text without markup, lower-cased,
/// keeping letters, digits, `_`, `-` and spaces, spaces made `-`.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading.replace('`', "");
    // A link's text stays, its target goes.
    while let (Some(open), Some(close)) = (rest.find("]("), rest.find(')')) {
        if close < open {
            break;
        }
        text.push_str(&rest[..open]);
        rest = rest[close + 1..].to_owned();
    }
    text.push_str(&rest);
    text.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors a page defines: its headings' slugs (a repeated one gets
/// `-1`, `-2`, ... as on GitHub) and explicit `id="..."` attributes.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, line) in prose(text) {
        let hashes = line.len() - line.trim_start_matches('#').len();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let base = slug(line[hashes..].trim());
            let mut id = base.clone();
            let mut n = 0;
            while out.contains(&id) {
                n += 1;
                id = format!("{base}-{n}");
            }
            out.insert(id);
        }
        for attr in ["id=\"", "name=\""] {
            for (at, _) in line.match_indices(attr) {
                let value = &line[at + attr.len()..];
                out.insert(value[..value.find('"').unwrap_or(0)].to_owned());
            }
        }
    }
    out
}

/// The targets of `[text](target)` links and `[id]: target` definitions.
fn link_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        if let Some(at) = trimmed.find("]: ") {
            out.push(
                trimmed[at + 3..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_owned(),
            );
        }
    }
    for (at, _) in text.match_indices("](") {
        let target = &text[at + 2..];
        let end = target.find([')', ' ']).unwrap_or(target.len());
        out.push(target[..end].trim_matches(['<', '>']).to_owned());
    }
    out
}

/// Joins `target` onto `dir` without touching the file system.
fn resolve(dir: &Path, target: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for part in dir.join(target).components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn every_relative_link_and_anchor_in_the_docs_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = read(&page);
        let own = anchors(&text);
        for (n, line) in prose(&text) {
            for target in link_targets(&split_code(line).0) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
                let file = resolve(page.parent().unwrap(), path);
                let problem = if path.is_empty() {
                    (!own.contains(anchor)).then(|| format!("no heading for #{anchor}"))
                } else if !root().join(&file).exists() {
                    Some(format!("{} does not exist", file.display()))
                } else if !anchor.is_empty() && !anchors(&read(&file)).contains(anchor) {
                    Some(format!("{} has no heading for #{anchor}", file.display()))
                } else {
                    None
                };
                if let Some(problem) = problem {
                    broken.push(format!("{}:{n}: ({target}) {problem}", page.display()));
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} links found: is the parser broken?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// Top-level folders whose paths the docs name in code spans.
const REPO_ROOTS: [&str; 10] = [
    "src/",
    "clients/",
    "tests/",
    "docs/",
    "deploy/",
    "scripts/",
    "bench/",
    "examples/",
    "fuzz/",
    ".ci/",
];

/// Folders the tools create, named in the docs but not in the repository.
const GENERATED: [&str; 2] = ["fuzz/corpus/", "fuzz/artifacts/"];

#[test]
fn repository_paths_named_in_the_docs_exist() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = read(&page);
        for (n, line) in prose(&text) {
            for span in split_code(line).1 {
                let placeholder = span.contains(['<', '*', '{', '$', '=', ' ']);
                let generated = GENERATED.iter().any(|g| span.starts_with(g));
                if placeholder || generated || !REPO_ROOTS.iter().any(|r| span.starts_with(r)) {
                    continue;
                }
                checked += 1;
                let (path, function) = span.split_once("::").unwrap_or((&span, ""));
                let file = root().join(path);
                let defines = |f: &str| {
                    let source = std::fs::read_to_string(&file).unwrap_or_default();
                    source.contains(&format!("fn {f}("))
                };
                let problem = if !file.exists() {
                    Some("does not exist".to_owned())
                } else if !function.is_empty() && !defines(function) {
                    Some(format!("has no `fn {function}`"))
                } else {
                    None
                };
                if let Some(problem) = problem {
                    missing.push(format!("{}:{n}: `{span}` {problem}", page.display()));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} paths found: is the parser broken?"
    );
    assert!(
        missing.is_empty(),
        "paths named in the docs:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_docs_page_is_in_the_summary() {
    let src = Path::new("docs/src");
    let summary = read(&src.join("SUMMARY.md"));
    let listed: BTreeSet<PathBuf> = prose(&summary)
        .into_iter()
        .flat_map(|(_, line)| link_targets(line))
        .map(|target| resolve(src, &target))
        .collect();
    let unlisted: Vec<String> = pages()
        .into_iter()
        .filter(|p| p.starts_with(src) && *p != src.join("SUMMARY.md") && !listed.contains(p))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        unlisted.is_empty(),
        "pages missing from docs/src/SUMMARY.md: {unlisted:?}"
    );
}

/// mdBook's `{{#include path}}` and `{{#include path:FIRST:}}` (from line
/// FIRST) directives in `text`: the path and the first line included.
fn includes(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (_, line) in prose(text) {
        for (at, _) in line.match_indices("{{#include ") {
            let rest = &line[at + "{{#include ".len()..];
            let target = rest[..rest.find("}}").unwrap_or(rest.len())].trim();
            let (path, range) = target.split_once(':').unwrap_or((target, ""));
            let first = range.split(':').next().unwrap_or("");
            out.push((path.to_owned(), first.parse().unwrap_or(1)));
        }
    }
    out
}

/// Included files (bench results on the performance page) exist, have the
/// lines asked for, and their relative links resolve from the page that
/// includes them, where the book shows them.
#[test]
fn every_included_file_exists_and_its_links_resolve_from_the_page() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        for (path, first) in includes(&read(&page)) {
            checked += 1;
            let file = resolve(page.parent().unwrap(), &path);
            let Ok(text) = std::fs::read_to_string(root().join(&file)) else {
                broken.push(format!(
                    "{}: {} does not exist",
                    page.display(),
                    file.display()
                ));
                continue;
            };
            let shown: Vec<&str> = text.lines().skip(first - 1).collect();
            if shown.iter().all(|l| l.trim().is_empty()) {
                broken.push(format!(
                    "{}: nothing in {} from line {first}",
                    page.display(),
                    file.display()
                ));
            }
            for (n, line) in prose(&shown.join("\n")) {
                for target in link_targets(&split_code(line).0) {
                    let path = target.split('#').next().unwrap_or("");
                    if !target.contains("://")
                        && !path.is_empty()
                        && !root().join(resolve(page.parent().unwrap(), path)).exists()
                    {
                        broken.push(format!(
                            "{}:{n} (in {}): ({target})",
                            file.display(),
                            page.display()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        checked >= 2,
        "only {checked} includes found: is the parser broken?"
    );
    assert!(broken.is_empty(), "broken includes:\n{}", broken.join("\n"));
    assert_eq!(
        includes("x {{#include ../../a/b.md:3:}} {{#include c.md}}\n```\n{{#include d.md}}\n```"),
        [("../../a/b.md".to_owned(), 3), ("c.md".to_owned(), 1)]
    );
}

#[test]
fn the_readme_is_a_front_door_of_at_most_300_lines() {
    let lines = read(Path::new("README.md")).lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines; move detail into docs/"
    );
}

#[test]
fn headings_become_githubs_anchors() {
    assert_eq!(
        slug("`redis`: express-session + connect-redis"),
        "redis-express-session--connect-redis"
    );
    assert_eq!(
        slug("Supabase Auth (`@supabase/ssr`)"),
        "supabase-auth-supabasessr"
    );
    assert_eq!(slug("[Key rotation](x.md) now"), "key-rotation-now");
    let twice = anchors("# A\n## A\n```\n# not a heading\n```\n<a id=\"b\"></a>");
    assert_eq!(
        twice,
        BTreeSet::from(["a".into(), "a-1".into(), "b".into()])
    );
}

//! The import graph of `src/`, one per folder: the nodes are a folder's
//! modules (a file, or a subfolder with everything in it), an edge `a → b`
//! says some file in `a` names something in `b`. A path through a
//! re-export counts for the module it goes through and the one it ends in.
//! A folder's own file (`mod.rs`, or `x.rs` beside `x/`) is its front: it
//! may use its modules and they may use it, so it is no node of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::parse::{self, Ref};

pub type Module = Vec<String>;

/// Where an edge comes from: `src/…:line` and the path as written.
pub type Evidence = String;

/// The modules of `src/` and what each file names.
pub struct Crate {
    /// Every module (file or inline) → the file module it lives in.
    modules: BTreeMap<Module, Module>,
    /// Per module: the names its `use`s bind → (path as written).
    binds: BTreeMap<Module, BTreeMap<String, Vec<String>>>,
    files: Vec<(Module, String, Vec<Ref>)>,
}

/// `src/a/b.rs`, `src/a/b/mod.rs` → `["a", "b"]`; `src/lib.rs` → `[]`.
fn module_of(rel: &Path) -> Module {
    let mut m: Module = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(m.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        m.pop();
    }
    m
}

impl Crate {
    pub fn read(src: &Path, files: &[PathBuf]) -> Crate {
        let (mut modules, mut binds, mut out) = (
            BTreeMap::new(),
            BTreeMap::<Module, BTreeMap<_, _>>::new(),
            Vec::new(),
        );
        for file in files {
            let rel = file.strip_prefix(src).unwrap();
            if rel == Path::new("main.rs") {
                continue; // the binary: its own crate
            }
            let module = module_of(rel);
            let refs = parse::refs(&std::fs::read_to_string(file).unwrap(), &module);
            for r in &refs {
                modules.insert(r.module.clone(), module.clone());
                if let Some(name) = &r.binds {
                    binds
                        .entry(r.module.clone())
                        .or_default()
                        .insert(name.clone(), r.path.clone());
                }
            }
            modules.insert(module.clone(), module.clone());
            out.push((module, format!("src/{}", rel.display()), refs));
        }
        Crate {
            modules,
            binds,
            files: out,
        }
    }

    /// The file modules a path written in `at` goes through and ends in.
    fn targets(&self, at: &[String], path: &[String], out: &mut BTreeSet<Module>, hops: u8) {
        let Some(first) = path.first().filter(|_| hops < 8) else {
            return;
        };
        let (mut cur, rest): (Module, &[String]) = match first.as_str() {
            "crate" => (Vec::new(), &path[1..]),
            "self" => (at.to_vec(), &path[1..]),
            "super" => {
                let ups = path.iter().take_while(|s| *s == "super").count();
                (at[..at.len().saturating_sub(ups)].to_vec(), &path[ups..])
            }
            // A bare first segment: a child module, a name a `use` bound, or another crate.
            _ => (at.to_vec(), path),
        };
        for (i, seg) in rest.iter().enumerate() {
            let child: Module = cur.iter().chain([seg]).cloned().collect();
            if self.modules.contains_key(&child) {
                cur = child;
            } else if let Some(bound) = self
                .binds
                .get(&cur)
                .and_then(|b| b.get(seg))
                .filter(|p| p[..] != path[..])
            {
                out.insert(self.modules.get(&cur).cloned().unwrap_or(cur.clone()));
                let through: Vec<String> = bound.iter().chain(&rest[i + 1..]).cloned().collect();
                return self.targets(&cur, &through, out, hops + 1);
            } else {
                break;
            }
        }
        out.insert(self.modules.get(&cur).cloned().unwrap_or(cur));
    }

    /// Every edge `(file module, named file module, evidence)`.
    pub fn edges(&self) -> Vec<(Module, Module, Evidence)> {
        let mut out = Vec::new();
        for (module, file, refs) in &self.files {
            for r in refs {
                let mut targets = BTreeSet::new();
                self.targets(&r.module, &r.path, &mut targets, 0);
                for t in targets.into_iter().filter(|t| t != module) {
                    out.push((
                        module.clone(),
                        t,
                        format!("{file}:{} `{}`", r.line, r.path.join("::")),
                    ));
                }
            }
        }
        out
    }

    /// Per folder (`src/a/`), its modules and the edges among them.
    pub fn folders(&self) -> BTreeMap<Module, Graph> {
        let mut folders: BTreeMap<Module, Graph> = BTreeMap::new();
        for m in self.modules.values().filter(|m| !m.is_empty()) {
            let node = m.last().unwrap().clone();
            folders
                .entry(m[..m.len() - 1].to_vec())
                .or_default()
                .entry(node)
                .or_default();
        }
        for (from, to, evidence) in self.edges() {
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common == from.len() || common == to.len() {
                continue; // a folder's front and what is inside it
            }
            let graph = folders.get_mut(&from[..common]).unwrap();
            if graph.contains_key(&to[common]) {
                let deps = graph.get_mut(&from[common]).unwrap();
                deps.entry(to[common].clone()).or_insert(evidence);
            }
        }
        folders
    }
}

/// A folder's modules → the modules each uses (with one place it does).
pub type Graph = BTreeMap<String, BTreeMap<String, Evidence>>;

/// One cycle per strongly connected part of the graph, shortest through its
/// first node.
pub fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let reach = |from: &String| {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![from.clone()]);
        while let Some(n) = todo.pop() {
            for d in graph[&n].keys() {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen
    };
    let (mut done, mut out) = (BTreeSet::new(), Vec::new());
    for start in graph.keys() {
        if done.contains(start) || !reach(start).contains(start) {
            continue;
        }
        // Breadth first from `start` back to it.
        let mut back: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.clone()]);
        'search: while let Some(n) = queue.pop_front() {
            for d in graph[&n].keys() {
                if d == start {
                    let mut cycle = vec![n.clone()];
                    while let Some(p) = back.get(cycle.last().unwrap()) {
                        cycle.push(p.clone());
                    }
                    cycle.reverse();
                    cycle.push(start.clone());
                    // The rest of `start`'s strongly connected part is reported by this cycle.
                    let part = reach(start)
                        .into_iter()
                        .filter(|c| reach(c).contains(start));
                    done.extend(part);
                    out.push(cycle);
                    break 'search;
                }
                if d != start && !back.contains_key(d) {
                    back.insert(d.clone(), n.clone());
                    queue.push_back(d.clone());
                }
            }
        }
    }
    out
}

/// The floors of an acyclic graph, from the ground: a module stands one floor
/// above the highest one it uses.
pub fn floors(graph: &Graph) -> Vec<Vec<String>> {
    let mut floor: BTreeMap<&String, usize> = BTreeMap::new();
    while floor.len() < graph.len() {
        let before = floor.len();
        for (n, deps) in graph {
            if !floor.contains_key(n) && deps.keys().all(|d| floor.contains_key(d)) {
                let f = deps.keys().map(|d| floor[d] + 1).max().unwrap_or(0);
                floor.insert(n, f);
            }
        }
        if floor.len() == before {
            break; // a cycle: reported by `cycles`
        }
    }
    let mut out = vec![Vec::new(); floor.values().max().map_or(0, |m| m + 1)];
    for (n, f) in floor {
        out[f].push(n.clone());
    }
    out
}

//! Reads the paths one source file names: every `use` tree (multi-line,
//! nested groups, `self`, `as`, globs) and every `crate::` / `super::` /
//! `self::` path in code, outside comments, strings and char literals. Inline
//! `mod name { .. }` blocks are followed, so `super` in `mod tests` means the
//! file's own module.

/// One path a file names, as written.
pub struct Ref {
    /// The module the path is written in (the file's, or an inline one inside it).
    pub module: Vec<String>,
    /// The segments, e.g. `["super", "jws", "Verifier"]`.
    pub path: Vec<String>,
    /// For a `use`: the name it binds (`None` for globs and `as _`).
    pub binds: Option<String>,
    pub line: usize,
}

#[derive(PartialEq)]
enum Tok {
    Ident(String),
    Sep,
    Open,
    Close,
    Comma,
    Semi,
    Star,
    Other,
}

fn tokens(text: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = text.chars().collect();
    let (mut out, mut i, mut line) = (Vec::new(), 0, 1);
    let skip_to = |i: &mut usize, line: &mut usize, end: usize| {
        *line += c[*i..end.min(c.len())]
            .iter()
            .filter(|&&ch| ch == '\n')
            .count();
        *i = end;
    };
    while i < c.len() {
        let rest = &c[i..];
        let starts = |s: &str| rest.iter().take(s.len()).copied().eq(s.chars());
        if starts("//") {
            let end = rest
                .iter()
                .position(|&ch| ch == '\n')
                .map_or(c.len(), |p| i + p);
            skip_to(&mut i, &mut line, end);
        } else if starts("/*") {
            let (mut depth, mut j) = (0, i);
            while j < c.len() {
                if c[j..].starts_with(&['/', '*']) {
                    (depth, j) = (depth + 1, j + 2);
                } else if c[j..].starts_with(&['*', '/']) {
                    (depth, j) = (depth - 1, j + 2);
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            skip_to(&mut i, &mut line, j);
        } else if let Some(hashes) = raw_string_start(rest) {
            let open = rest.iter().position(|&ch| ch == '"').unwrap() + 1;
            let close: String = std::iter::once('"')
                .chain("#".repeat(hashes).chars())
                .collect();
            let body: String = rest[open..].iter().collect();
            let end = body.find(&close).map_or(c.len(), |p| {
                i + open + body[..p].chars().count() + 1 + hashes
            });
            skip_to(&mut i, &mut line, end);
        } else if c[i] == '"' || starts("b\"") {
            let mut j = i + if c[i] == 'b' { 2 } else { 1 };
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            skip_to(&mut i, &mut line, j + 1);
        } else if c[i] == '\'' {
            // A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
            if rest.get(1) == Some(&'\\') {
                let end = rest[2..]
                    .iter()
                    .position(|&ch| ch == '\'')
                    .map_or(c.len(), |p| i + p + 3);
                skip_to(&mut i, &mut line, end);
            } else if rest.get(2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c[i].is_alphabetic() || c[i] == '_' {
            let len = rest
                .iter()
                .take_while(|ch| ch.is_alphanumeric() || **ch == '_')
                .count();
            out.push((Tok::Ident(rest[..len].iter().collect()), line));
            i += len;
        } else {
            let (tok, len) = match (c[i], rest.get(1)) {
                (':', Some(':')) => (Tok::Sep, 2),
                ('{', _) => (Tok::Open, 1),
                ('}', _) => (Tok::Close, 1),
                (',', _) => (Tok::Comma, 1),
                (';', _) => (Tok::Semi, 1),
                ('*', _) => (Tok::Star, 1),
                _ => (Tok::Other, 1),
            };
            if c[i] == '\n' {
                line += 1;
            }
            if tok != Tok::Other || !c[i].is_whitespace() {
                out.push((tok, line));
            }
            i += len;
        }
    }
    out
}

/// `r"`, `r#"`, `br##"`, …: the number of `#`s.
fn raw_string_start(rest: &[char]) -> Option<usize> {
    let after_b = if rest.first() == Some(&'b') {
        &rest[1..]
    } else {
        rest
    };
    if after_b.first() != Some(&'r') {
        return None;
    }
    let hashes = after_b[1..].iter().take_while(|&&ch| ch == '#').count();
    (after_b.get(1 + hashes) == Some(&'"')).then_some(hashes)
}

fn ident(toks: &[(Tok, usize)], i: usize) -> Option<&str> {
    match toks.get(i) {
        Some((Tok::Ident(s), _)) => Some(s),
        _ => None,
    }
}

/// Every path the file at module `module` names.
pub fn refs(text: &str, module: &[String]) -> Vec<Ref> {
    let toks = tokens(text);
    let (mut out, mut inline, mut depth, mut i) = (Vec::new(), Vec::<(String, usize)>::new(), 0, 0);
    while i < toks.len() {
        let here = || {
            let mut m = module.to_vec();
            m.extend(inline.iter().map(|(name, _)| name.clone()));
            m
        };
        match (&toks[i].0, ident(&toks, i)) {
            (Tok::Open, _) => depth += 1,
            (Tok::Close, _) => {
                depth -= 1;
                if inline.last().is_some_and(|(_, d)| *d > depth) {
                    inline.pop();
                }
            }
            (_, Some("mod")) if toks.get(i + 2).is_some_and(|t| t.0 == Tok::Open) => {
                if let Some(name) = ident(&toks, i + 1) {
                    inline.push((name.to_owned(), depth + 1));
                }
            }
            (_, Some("use")) => {
                let m = here();
                i = use_tree(&toks, i + 1, Vec::new(), &m, &mut out);
                continue;
            }
            (_, Some("crate" | "super" | "self"))
                if toks.get(i + 1).is_some_and(|t| t.0 == Tok::Sep) =>
            {
                let (line, mut path) = (toks[i].1, Vec::new());
                while let Some(seg) = ident(&toks, i) {
                    path.push(seg.to_owned());
                    if toks.get(i + 1).map(|t| &t.0) != Some(&Tok::Sep) {
                        break;
                    }
                    i += 2;
                }
                out.push(Ref {
                    module: here(),
                    path,
                    binds: None,
                    line,
                });
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Reads one use tree from `i` (after `use`, or inside a group); returns the
/// index after it.
fn use_tree(
    toks: &[(Tok, usize)],
    mut i: usize,
    mut path: Vec<String>,
    module: &[String],
    out: &mut Vec<Ref>,
) -> usize {
    let line = toks.get(i).map_or(0, |t| t.1);
    let mut push = |path: Vec<String>, binds: Option<String>| {
        out.push(Ref {
            module: module.to_vec(),
            path,
            binds,
            line,
        });
    };
    if toks.get(i).is_some_and(|t| t.0 == Tok::Sep) {
        i += 1; // `use ::std::..`
    }
    loop {
        match toks.get(i).map(|t| &t.0) {
            Some(Tok::Ident(seg)) if seg == "self" && !path.is_empty() => {
                let binds = path.last().cloned();
                i += 1;
                let alias = alias(toks, &mut i);
                push(path, alias.unwrap_or(binds));
                return skip_end(toks, i);
            }
            Some(Tok::Ident(seg)) => {
                path.push(seg.clone());
                i += 1;
                if toks.get(i).is_some_and(|t| t.0 == Tok::Sep) {
                    i += 1;
                    continue;
                }
                let binds = path.last().cloned();
                let alias = alias(toks, &mut i);
                push(path, alias.unwrap_or(binds));
                return skip_end(toks, i);
            }
            Some(Tok::Star) => {
                push(path, None);
                return skip_end(toks, i + 1);
            }
            Some(Tok::Open) => {
                i += 1;
                while toks.get(i).is_some_and(|t| t.0 != Tok::Close) {
                    i = use_tree(toks, i, path.clone(), module, out);
                }
                return skip_end(toks, i + 1);
            }
            _ => return skip_end(toks, i),
        }
    }
}

/// `as name` / `as _` after a use path: `Some(Some(name))`, `Some(None)`, or `None`.
fn alias(toks: &[(Tok, usize)], i: &mut usize) -> Option<Option<String>> {
    if ident(toks, *i) != Some("as") {
        return None;
    }
    *i += 2;
    Some(ident(toks, *i - 1).filter(|n| *n != "_").map(str::to_owned))
}

/// Steps over the `,` or `;` that ends a use tree (not over a group's `}`).
fn skip_end(toks: &[(Tok, usize)], i: usize) -> usize {
    match toks.get(i).map(|t| &t.0) {
        Some(Tok::Comma | Tok::Semi) => i + 1,
        _ => i,
    }
}

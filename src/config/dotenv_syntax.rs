//! How dotenvy 0.15.7 reads a `.env` file (`iter.rs`: lines joined while a
//! quote is open, a `#` after whitespace starts a comment; `parse.rs`: the
//! key, then the value), far enough to say which values it changes by
//! reading a `$` as a reference and where it stops.
//!
//! dotenvy's rules for a value: inside single quotes every character is
//! literal; elsewhere (unquoted or in double quotes) `\` escapes the next
//! character (only `\ ' " $ n` and a space; anything else is an error) and
//! `$` starts a substitution: `${NAME}` is the variable `NAME`, `$name` the
//! longest run of alphanumeric characters, and a `$` before anything else
//! is a reference to nothing. Each is replaced by the variable's value (the
//! process environment first, then earlier lines), or by nothing. The
//! character that ends `$name` is kept as is, even a closing `"`, which then
//! leaves the quote open and the line unreadable. At the first line it
//! cannot read, dotenvy stops: that line and every line after it are not
//! loaded.

use std::collections::BTreeSet;

/// What [`scan`] found in a `.env` file.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Scan {
    /// Variables whose value has a `$name` or a bare `$` (first occurrence
    /// of each, which is the one dotenvy loads); `${NAME}` is a deliberate
    /// reference and does not count.
    pub(super) expanded: Vec<String>,
    /// The first line dotenvy cannot read: its number (from 1) and its
    /// variable, when the line got that far.
    pub(super) unreadable: Option<(usize, Option<String>)>,
}

/// Reads `text` as dotenvy does.
pub(super) fn scan(text: &str) -> Scan {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut seen = BTreeSet::new();
    let mut out = Scan::default();
    for (number, line) in LogicalLines::new(text) {
        let line = match line {
            Ok(line) => line,
            Err(unclosed) => {
                let key = parse_line(&unclosed)
                    .ok()
                    .flatten()
                    .map(|(k, _)| k.to_owned());
                out.unreadable = Some((number, key));
                break;
            }
        };
        let (key, value) = match parse_line(&line) {
            Ok(Some(pair)) => pair,
            Ok(None) => continue,
            Err(()) => {
                out.unreadable = Some((number, None));
                break;
            }
        };
        match has_bare_dollar(value) {
            Ok(bare) => {
                if seen.insert(key.to_owned()) && bare {
                    out.expanded.push(key.to_owned());
                }
            }
            Err(()) => {
                out.unreadable = Some((number, Some(key.to_owned())));
                break;
            }
        }
    }
    out
}

/// dotenvy's `ParseState`: where a line ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Complete,
    Escape,
    StrongOpen,
    StrongOpenEscape,
    WeakOpen,
    WeakOpenEscape,
    Comment,
    WhiteSpace,
}

/// dotenvy's `QuotedLines`: physical lines joined while a quote or an
/// escape is open, each with the number of its first physical line; `Err`
/// for a quote still open at the end of the file.
struct LogicalLines<'a> {
    lines: std::iter::Peekable<std::str::SplitInclusive<'a, char>>,
    number: usize,
}

impl<'a> LogicalLines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            lines: text.split_inclusive('\n').peekable(),
            number: 0,
        }
    }
}

impl Iterator for LogicalLines<'_> {
    type Item = (usize, Result<String, String>);

    fn next(&mut self) -> Option<Self::Item> {
        self.lines.peek()?;
        let first = self.number + 1;
        let mut buf = String::new();
        let mut state = State::Complete;
        loop {
            let Some(line) = self.lines.next() else {
                return Some((first, Err(buf)));
            };
            self.number += 1;
            let start = buf.len();
            buf.push_str(line);
            if buf.trim_start().starts_with('#') {
                return Some((first, Ok(String::new())));
            }
            let (pos, end) = end_state(state, line);
            state = end;
            match state {
                State::Complete => {
                    let trimmed = buf.strip_suffix('\n').unwrap_or(&buf);
                    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
                    return Some((first, Ok(trimmed.to_owned())));
                }
                State::Comment => {
                    buf.truncate(start + pos);
                    return Some((first, Ok(buf)));
                }
                _ => {}
            }
        }
    }
}

/// dotenvy's `eval_end_state`: the state at the end of `line`, or
/// [`State::Comment`] with where the comment starts.
fn end_state(mut state: State, line: &str) -> (usize, State) {
    for (pos, c) in line.char_indices() {
        state = match state {
            State::WhiteSpace => match c {
                '#' => return (pos, State::Comment),
                '\\' => State::Escape,
                '"' => State::WeakOpen,
                '\'' => State::StrongOpen,
                _ => State::Complete,
            },
            State::Escape => State::Complete,
            State::Complete => match c {
                c if c.is_whitespace() && c != '\n' && c != '\r' => State::WhiteSpace,
                '\\' => State::Escape,
                '"' => State::WeakOpen,
                '\'' => State::StrongOpen,
                _ => State::Complete,
            },
            State::WeakOpen => match c {
                '\\' => State::WeakOpenEscape,
                '"' => State::Complete,
                _ => State::WeakOpen,
            },
            State::WeakOpenEscape => State::WeakOpen,
            State::StrongOpen => match c {
                '\\' => State::StrongOpenEscape,
                '\'' => State::Complete,
                _ => State::StrongOpen,
            },
            State::StrongOpenEscape => State::StrongOpen,
            State::Comment => unreachable!("a comment ends the line"),
        };
    }
    (line.len(), state)
}

/// dotenvy's `parse_line`: the key and the raw value, `None` for a blank
/// line or a comment, `Err` where dotenvy fails.
fn parse_line(line: &str) -> Result<Option<(&str, &str)>, ()> {
    let line = line.trim_end().trim_start();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (mut key, mut rest) = parse_key(line)?;
    rest = rest.trim_start();
    match rest.strip_prefix('=') {
        Some(value) => rest = value,
        // `export KEY=value`; `export=value` is the key `export`.
        None if key == "export" => {
            (key, rest) = parse_key(rest)?;
            rest = rest.trim_start().strip_prefix('=').ok_or(())?;
        }
        None => return Err(()),
    }
    let value = rest.trim_start();
    Ok(Some((key, if value.starts_with('#') { "" } else { value })))
}

fn parse_key(text: &str) -> Result<(&str, &str), ()> {
    if !text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return Err(());
    }
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(text.len());
    Ok(text.split_at(end))
}

/// Where dotenvy's `parse_value` is in a `$` substitution.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Substitution {
    None,
    /// After `$`: a name of alphanumeric characters, or `{`.
    Name {
        empty: bool,
    },
    /// Inside `${...}`.
    Braced,
}

/// dotenvy's `parse_value`, reduced to one question: does it substitute a
/// `$name` or a bare `$`? `Err` where dotenvy fails.
fn has_bare_dollar(value: &str) -> Result<bool, ()> {
    let (mut strong, mut weak, mut escaped, mut expecting_end) = (false, false, false, false);
    let mut substitution = Substitution::None;
    let mut bare = false;
    for c in value.chars() {
        if expecting_end {
            match c {
                ' ' | '\t' => continue,
                '#' => break,
                _ => return Err(()),
            }
        } else if escaped {
            if !matches!(c, '\\' | '\'' | '"' | '$' | ' ' | 'n') {
                return Err(());
            }
            escaped = false;
        } else if strong {
            strong = c != '\'';
        } else if let Substitution::Name { empty } = substitution {
            if c.is_alphanumeric() {
                substitution = Substitution::Name { empty: false };
            } else if c == '{' && empty {
                substitution = Substitution::Braced;
            } else {
                // The name ends here; `c` is kept as is, quotes included.
                bare = true;
                substitution = match c {
                    '$' => Substitution::Name { empty: true },
                    _ => Substitution::None,
                };
            }
        } else if substitution == Substitution::Braced {
            if c == '}' {
                substitution = Substitution::None;
            }
        } else if c == '$' {
            substitution = Substitution::Name { empty: true };
        } else if weak {
            match c {
                '"' => weak = false,
                '\\' => escaped = true,
                _ => {}
            }
        } else {
            match c {
                '\'' => strong = true,
                '"' => weak = true,
                '\\' => escaped = true,
                ' ' | '\t' => expecting_end = true,
                _ => {}
            }
        }
    }
    if substitution == Substitution::Braced || strong || weak {
        return Err(());
    }
    Ok(bare || matches!(substitution, Substitution::Name { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What dotenvy itself loads from `text`: the pairs before its first
    /// error, and whether it stopped at one.
    fn dotenvy_reads(text: &str) -> (Vec<(String, String)>, bool) {
        let mut pairs = Vec::new();
        for item in dotenvy::from_read_iter(text.as_bytes()) {
            match item {
                Ok(pair) => pairs.push(pair),
                Err(_) => return (pairs, true),
            }
        }
        (pairs, false)
    }

    #[test]
    fn finds_the_values_dotenvy_changes_and_where_it_stops() {
        // A line after `A=1`: Ok(what dotenvy loads for K, whether it
        // substituted a `$`), or Err(the variable named where it stops).
        type Expected = Result<(&'static str, bool), Option<&'static str>>;
        let cases: &[(&str, Expected)] = &[
            ("K=ab$cd-ef", Ok(("ab-ef", true))),
            ("K=\"ab$cd-ef\"", Ok(("ab-ef", true))),
            // `$cd` ends at the closing quote, which is then kept.
            ("K=\"ab$cd\"", Err(Some("K"))),
            ("K='ab$cd-ef'", Ok(("ab$cd-ef", false))),
            ("K=ab\\$cd", Ok(("ab$cd", false))),
            ("K=\"ab\\$cd\"", Ok(("ab$cd", false))),
            ("K=ab$", Ok(("ab", true))),
            ("K=ab$-cd", Ok(("ab-cd", true))),
            ("K=ab$$cd", Ok(("ab", true))),
            ("K=${RTZZUNSET}x", Ok(("x", false))),
            ("K=\"x${RTZZUNSET}\"", Ok(("x", false))),
            ("K=ab #$cd", Ok(("ab", false))),
            ("export K=ab$cd", Ok(("ab", true))),
            ("K=@#$%^&*(-_=+)", Ok(("@#%^&*(-_=+)", true))),
            ("K=a b", Err(Some("K"))),
            ("K=a\\qb", Err(Some("K"))),
            ("K=\"open", Err(Some("K"))),
            ("1K=a", Err(None)),
        ];
        for (line, expected) in cases {
            let text = format!("A=1\n{line}\nZ=2\n");
            let (pairs, stopped) = dotenvy_reads(&text);
            let loaded = pairs
                .iter()
                .find(|(k, _)| k == "K")
                .map(|(_, v)| v.as_str());
            let scan = scan(&text);
            match expected {
                Ok((value, bare)) => {
                    assert_eq!(loaded, Some(*value), "dotenvy reads {line:?} so");
                    assert!(!stopped, "{line:?}");
                    assert_eq!(scan.unreadable, None, "{line:?}");
                    assert_eq!(scan.expanded == ["K"], *bare, "{line:?}");
                }
                Err(key) => {
                    assert!(stopped && loaded.is_none(), "dotenvy stops at {line:?}");
                    assert_eq!(
                        scan.unreadable,
                        Some((2, key.map(str::to_owned))),
                        "{line:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn joins_quoted_lines_and_keeps_the_first_occurrence() {
        let text = "# a $comment\nK=\"one\ntwo $x-\"\nL='a\n$b'\nK=fine\nM=ok\nM=$late\n";
        let (pairs, stopped) = dotenvy_reads(text);
        assert!(!stopped);
        assert_eq!(pairs[0], ("K".into(), "one\ntwo -".into()));
        assert_eq!(pairs[1], ("L".into(), "a\n$b".into()));
        // dotenvy without override keeps the first K and M it loads.
        assert_eq!(
            scan(text),
            Scan {
                expanded: vec!["K".into()],
                unreadable: None,
            }
        );
        let text = "A=1\n\nB='unclosed\nC=3\n";
        assert_eq!(scan(text).unreadable, Some((3, Some("B".into()))));
        assert!(dotenvy_reads(text).1);
    }
}

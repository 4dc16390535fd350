//! `.env`: loaded into the process environment as dotenvy loads it
//! (variables already set win), with two refusals dotenvy does not make.
//!
//! dotenvy reads a `$` outside single quotes as a reference to another
//! variable and stops at the first line it cannot read, both silently: a
//! Django `SECRET_KEY` pasted unquoted (most hold a `$`) became another
//! secret, and every cookie a 401. A secret cannot be read "literally"
//! instead without this service and every other reader of the same file
//! (dotenv tools, Docker Compose's `env_file`) disagreeing on its value,
//! so a variable the configuration reads whose `.env` value dotenv changed
//! is refused at start-up, naming the fix: single quotes. `${NAME}` is a
//! deliberate reference and is read as dotenv reads it. The process
//! environment is read as is.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::dotenv_syntax::scan;
use super::vars::{ConfigError, ConfigErrors, Lookup};

/// A `.env` file loaded into the environment, and what dotenv did not read
/// as written.
#[derive(Debug, Default)]
pub struct Dotenv {
    /// The file, when one was found.
    path: Option<PathBuf>,
    /// Variables it set (not already in the environment) whose value had a
    /// `$name` or a bare `$`.
    expanded: BTreeSet<String>,
    /// The first line dotenv could not read (it stopped there), and that
    /// line's variable.
    unreadable: Option<(usize, Option<String>)>,
}

impl Dotenv {
    /// Finds `.env` where dotenvy looks (the working directory, else the
    /// nearest parent that has one) and loads it without overriding the
    /// variables already set.
    pub fn load() -> Self {
        let Some(path) = std::env::current_dir().ok().and_then(|dir| find(&dir)) else {
            return Self::default();
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            // Unreadable or not UTF-8: dotenvy loads nothing from it either.
            return Self::default();
        };
        let scan = scan(&text);
        let expanded = scan
            .expanded
            .into_iter()
            .filter(|var| std::env::var_os(var).is_none())
            .collect();
        // The text just scanned, so both read the same bytes.
        let _ = dotenvy::from_read(text.as_bytes());
        Self {
            path: Some(path),
            expanded,
            unreadable: scan.unreadable,
        }
    }

    /// Runs `read` on the process environment (with `.env` loaded), adding
    /// an error for each variable it read whose `.env` value dotenv changed,
    /// and for the line where dotenv stopped.
    pub fn read<T>(
        &self,
        read: impl FnOnce(&Lookup) -> Result<T, ConfigErrors>,
    ) -> Result<T, ConfigErrors> {
        let used = RefCell::new(BTreeSet::new());
        let result = read(&|var| {
            used.borrow_mut().insert(var);
            std::env::var(var).ok()
        });
        let used = used.into_inner();
        let path = self.path.as_deref().unwrap_or(Path::new(".env"));
        let mut refused: Vec<ConfigError> = used
            .iter()
            .filter(|var| self.expanded.contains(**var))
            .map(|var| ConfigError::new(var, expanded_message(var, path)))
            .collect();
        if let Some((line, key)) = &self.unreadable {
            let var = used
                .iter()
                .find(|var| key.as_deref() == Some(**var))
                .copied()
                .unwrap_or(".env");
            refused.push(ConfigError::new(
                var,
                unreadable_message(*line, key.as_deref(), path),
            ));
        }
        match (result, refused.is_empty()) {
            (result, true) => result,
            (Ok(_), false) => Err(ConfigErrors(refused)),
            (Err(ConfigErrors(errors)), false) => {
                // What else is wrong with a refused variable (unset, too
                // short) follows from dotenv's reading: one error says why.
                let named: BTreeSet<&str> = refused.iter().map(|e| e.var).collect();
                refused.extend(errors.into_iter().filter(|e| !named.contains(e.var)));
                Err(ConfigErrors(refused))
            }
        }
    }
}

fn expanded_message(var: &str, path: &Path) -> String {
    format!(
        "its value in {} has a `$` outside single quotes, which dotenv reads as a reference to another \
         variable (`$name` becomes that variable's value, a `$` before anything else disappears), so this \
         is not the value the file shows; if the `$` is part of the value (Django's SECRET_KEY often has \
         one), put the value in single quotes: {var}='...'; to refer to another variable, write ${{NAME}}",
        path.display()
    )
}

fn unreadable_message(line: usize, key: Option<&str>, path: &Path) -> String {
    let (of, fix) = match key {
        Some(key) => (format!(" ({key})"), format!("{key}='...'")),
        None => (String::new(), "NAME='...'".to_owned()),
    };
    format!(
        "line {line}{of} of {} cannot be read as dotenv reads it, so it and every line after it were \
         ignored; put a value holding `$`, `\"`, `\\`, `#` or spaces in single quotes: {fix}",
        path.display()
    )
}

/// dotenvy's `find`: `.env` in `dir`, else in its nearest parent.
fn find(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(".env"))
        .find(|candidate| candidate.is_file())
}

//! [`EnvVar`]: what one environment variable is, for the configuration
//! reference (`realtime-token reference`) and `check-config`. The module
//! that reads a variable keeps its row next to its reader (a preset's in
//! its codec), so the reference is generated from the code, never kept by
//! hand.

use std::borrow::Cow;

/// One environment variable: its name, whether its value may be shown,
/// its default, who reads it and what it means.
#[derive(Debug, Clone, Copy)]
pub struct EnvVar {
    /// The variable's name.
    pub name: &'static str,
    /// How `check-config` may show its value (the reference's "secret").
    pub shown: Shown,
    /// One line of meaning, in Markdown.
    pub meaning: &'static str,
    /// The default, in Markdown; empty: unset.
    pub default: Text,
    /// The backends or features that read it, in Markdown; empty for a
    /// backend's own variable (the reference names the presets listing it).
    pub read_by: Text,
}

/// How `check-config` shows a variable's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// As set: nothing secret in it.
    Value,
    /// A URL, without its user, password and query.
    Url,
    /// Never: a key or a secret.
    Redacted,
}

/// Text fixed in the table, or made from other tables when it is asked for
/// (a default that differs by backend is read from the presets).
#[derive(Debug, Clone, Copy)]
pub enum Text {
    /// As written.
    Fixed(&'static str),
    /// Made on demand.
    Computed(fn() -> String),
}

impl Text {
    /// The text.
    pub fn get(&self) -> Cow<'static, str> {
        match self {
            Self::Fixed(text) => Cow::Borrowed(text),
            Self::Computed(make) => Cow::Owned(make()),
        }
    }
}

impl EnvVar {
    const fn new(name: &'static str, shown: Shown, meaning: &'static str) -> Self {
        Self {
            name,
            shown,
            meaning,
            default: Text::Fixed(""),
            read_by: Text::Fixed(""),
        }
    }

    /// A variable whose value is printed as set.
    pub const fn plain(name: &'static str, meaning: &'static str) -> Self {
        Self::new(name, Shown::Value, meaning)
    }

    /// A URL, printed without credentials or query.
    pub const fn url(name: &'static str, meaning: &'static str) -> Self {
        Self::new(name, Shown::Url, meaning)
    }

    /// A key or secret, never printed.
    pub const fn secret(name: &'static str, meaning: &'static str) -> Self {
        Self::new(name, Shown::Redacted, meaning)
    }

    /// With this default (Markdown).
    pub const fn defaults_to(mut self, default: &'static str) -> Self {
        self.default = Text::Fixed(default);
        self
    }

    /// With the default `make` writes (from other tables).
    pub const fn defaults_from(mut self, make: fn() -> String) -> Self {
        self.default = Text::Computed(make);
        self
    }

    /// Read by these backends or features (Markdown).
    pub const fn read_by(mut self, who: &'static str) -> Self {
        self.read_by = Text::Fixed(who);
        self
    }

    /// Read by the backends or features `make` names (from other tables).
    pub const fn read_by_from(mut self, make: fn() -> String) -> Self {
        self.read_by = Text::Computed(make);
        self
    }
}

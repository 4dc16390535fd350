//! The type of a preset (what each `SESSION_BACKEND` value means): the
//! cookie format (by the function that builds its authenticator), the store
//! it reads, and the defaults of every setting. The table of presets is
//! `session::preset`.

use std::sync::Arc;
use std::time::Duration;

use super::{FormatSettings, SessionConfig, SettingError};
use crate::env_var::EnvVar;
use crate::metrics::CacheMetrics;
use crate::session::SessionAuthenticator;

/// Builds a backend's authenticator from the validated settings. Store
/// backends connect lazily, so this needs a Tokio runtime but no reachable
/// store; `Err` names the variable at fault.
pub type Build = fn(&SessionConfig, CacheMetrics) -> Result<Arc<dyn SessionAuthenticator>, String>;

/// Where a backend's sessions live; `config` reads that store's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The cookie carries the session.
    None,
    /// Redis (`REDIS_URL`, `SESSION_REDIS_PREFIX`).
    Redis,
    /// PostgreSQL (`DATABASE_URL`, `SESSION_PG_TABLE`).
    Postgres,
    /// The cookie carries the session, and `DATABASE_URL`, when set, lets
    /// the format check it against the app's tables (Django's users,
    /// Devise's `SESSION_PG_TABLE`).
    OptionalPostgres,
    /// The app's "who am I" endpoint (`SESSION_UPSTREAM_*`).
    Upstream,
}

impl StoreKind {
    /// True when the cookie names a session kept elsewhere (a store or the
    /// app), which keeps its own expiry; false when the cookie carries it.
    pub fn keeps_sessions(self) -> bool {
        matches!(self, Self::Redis | Self::Postgres | Self::Upstream)
    }
}

/// What `SESSION_SECRET` does for a backend, which decides whether it is
/// required and how strictly a weak one is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretRole {
    /// Not used (`upstream`).
    Unused,
    /// Signs a session id that the store must also know: required while
    /// `SESSION_COOKIE_SIGNED` is on, and a weak one is only warned of.
    SignsSessionId,
    /// Vouches for the session on its own: required, and a weak one is
    /// refused at start-up.
    VouchesAlone,
    /// Vouches alone too, but the framework accepts short secrets (Auth.js):
    /// required, and a weak one is warned of at start-up, not refused, so an
    /// app that runs today keeps working here.
    VouchesAloneWarned,
}

impl SecretRole {
    /// True when the backend uses `SESSION_SECRET` (or its fallback): with
    /// [`SignsSessionId`](Self::SignsSessionId), only while the cookie is
    /// signed (`SESSION_COOKIE_SIGNED`).
    pub fn used(self, cookie_signed: bool) -> bool {
        match self {
            Self::Unused => false,
            Self::SignsSessionId => cookie_signed,
            Self::VouchesAlone | Self::VouchesAloneWarned => true,
        }
    }
}

/// What the session cookie holds when it carries the session itself (a
/// preset whose store is a lookup reads a session id; see `check-config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieKind {
    /// The session, signed with `SESSION_SECRET` (the default).
    Signed,
    /// The session, encrypted and authenticated with a key derived from
    /// `SESSION_SECRET` (JWE, an iron seal, Rails' AES-GCM).
    Encrypted,
    /// A JWT signed by its issuer's key (`SESSION_JWT_KEY` or a JWKS).
    IssuerJwt,
    /// A token signed with `SESSION_SECRET` that names a stored session.
    SignedSessionToken,
}

/// Checks a backend's settings before the port is bound and parses the
/// format's own once, for its build and warnings (`SessionConfig::format`);
/// `Err` names the variable and the fix. A format that needs a setting of
/// its own puts it in its settings type, not in [`Preset`].
pub type Check = fn(&SessionConfig) -> Result<FormatSettings, SettingError>;

/// Warnings about valid settings with a consequence worth saying at
/// start-up (e.g. what is not checked without a database).
pub type Warnings = fn(&SessionConfig) -> Vec<String>;

/// The defaults one `SESSION_BACKEND` value brings.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// The `SESSION_BACKEND` value.
    pub name: &'static str,
    /// The session cookie's default name (`SESSION_COOKIE`); empty when
    /// the format has no usual name and `SESSION_COOKIE` is required.
    /// `upstream` forwards the whole `Cookie` header and does not read it.
    pub cookie: &'static str,
    /// The default JSON pointer to the user id (`SESSION_SUBJECT_POINTER`).
    pub subject_pointer: &'static str,
    /// Where sessions are kept.
    pub store: StoreKind,
    /// What `SESSION_SECRET` does.
    pub secret: SecretRole,
    /// Builds the authenticator.
    pub build: Build,
    /// Checks the settings at start-up.
    pub check: Check,
    /// Says what the settings leave unchecked, at start-up.
    pub warnings: Warnings,
    /// The default `SESSION_CACHE_TTL` (zero: no cache).
    pub cache_ttl: Duration,
    /// The default `SESSION_MAX_AGE`, for formats whose cookie carries no
    /// expiry of its own; `None` where the setting does not apply.
    pub max_age: Option<Duration>,
    /// The framework's own variable read for the secret when
    /// `SESSION_SECRET` is unset (e.g. `AUTH_SECRET`).
    pub secret_fallback: Option<&'static str>,
    /// Variables only this format reads (into [`SessionConfig::options`]),
    /// each with its row of the configuration reference.
    pub options: &'static [EnvVar],
    /// What the cookie holds when it carries the session.
    pub cookie_kind: CookieKind,
    /// A variable that picks the store among several (e.g. Django's
    /// engines); its value, the first choice by default, is put in
    /// [`SessionConfig::options`]. `None`: always [`Preset::store`].
    pub store_choice: Option<StoreChoice>,
    /// The default `SESSION_PG_TABLE` for PostgreSQL-backed presets.
    pub pg_table: &'static str,
    /// Where `SESSION_COOKIE` comes from when unset, if not [`Preset::cookie`]:
    /// a variable (e.g. `SUPABASE_URL`) and the name derived from its value,
    /// `Err` saying what is wrong with the value.
    pub cookie_from: Option<CookieFrom>,
}

/// A variable and how the session cookie's name derives from its value.
pub type CookieFrom = (&'static str, fn(&str) -> Result<String, String>);

/// A variable choosing a preset's store: `(value, store)` pairs, the
/// default first.
#[derive(Debug, Clone, Copy)]
pub struct StoreChoice {
    /// The variable, e.g. `SESSION_DJANGO_ENGINE`, with its reference row.
    pub var: EnvVar,
    /// Its values and the store each one means.
    pub choices: &'static [(&'static str, StoreKind)],
    /// The value of [`StoreChoice::choices`] a setting means (e.g. Django's
    /// own `django.contrib.sessions.backends.db` for `db`), or why none.
    pub parse: fn(&str) -> Result<&'static str, String>,
}

impl Preset {
    /// A preset with no cache, no `SESSION_MAX_AGE`, no fallback secret
    /// variable, no options and no start-up check beyond the common ones.
    pub const fn new(
        name: &'static str,
        cookie: &'static str,
        subject_pointer: &'static str,
        store: StoreKind,
        secret: SecretRole,
        build: Build,
    ) -> Self {
        Self {
            name,
            cookie,
            subject_pointer,
            store,
            secret,
            build,
            check: |_| Ok(FormatSettings::none()),
            warnings: |_| Vec::new(),
            cache_ttl: Duration::ZERO,
            max_age: None,
            secret_fallback: None,
            options: &[],
            cookie_kind: CookieKind::Signed,
            store_choice: None,
            pg_table: "session",
            cookie_from: None,
        }
    }

    /// With this default `SESSION_CACHE_TTL`.
    pub const fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// With `SESSION_MAX_AGE`, defaulting to `max_age`.
    pub const fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Reading `var` when `SESSION_SECRET` is unset.
    pub const fn secret_fallback(mut self, var: &'static str) -> Self {
        self.secret_fallback = Some(var);
        self
    }

    /// Reading these format-specific variables.
    pub const fn options(mut self, vars: &'static [EnvVar]) -> Self {
        self.options = vars;
        self
    }

    /// With a cookie that holds this (default [`CookieKind::Signed`]).
    pub const fn cookie_kind(mut self, kind: CookieKind) -> Self {
        self.cookie_kind = kind;
        self
    }

    /// Picking the store by `var` among `choices` (the default first),
    /// the setting read by `parse`.
    pub const fn store_choice(
        mut self,
        var: EnvVar,
        choices: &'static [(&'static str, StoreKind)],
        parse: fn(&str) -> Result<&'static str, String>,
    ) -> Self {
        self.store_choice = Some(StoreChoice {
            var,
            choices,
            parse,
        });
        self
    }

    /// With this default `SESSION_PG_TABLE`.
    pub const fn pg_table(mut self, table: &'static str) -> Self {
        self.pg_table = table;
        self
    }

    /// Deriving `SESSION_COOKIE`, when unset, from variable `var` by `derive`.
    pub const fn cookie_from(
        mut self,
        var: &'static str,
        derive: fn(&str) -> Result<String, String>,
    ) -> Self {
        self.cookie_from = Some((var, derive));
        self
    }

    /// The variables only this backend reads, with their reference rows:
    /// [`Preset::options`] and the store choice's.
    pub fn own_vars(&self) -> impl Iterator<Item = &EnvVar> {
        self.store_choice.iter().map(|c| &c.var).chain(self.options)
    }

    /// Checking the settings at start-up with `check`.
    pub const fn check(mut self, check: Check) -> Self {
        self.check = check;
        self
    }

    /// Warning at start-up with `warnings`.
    pub const fn warnings(mut self, warnings: Warnings) -> Self {
        self.warnings = warnings;
        self
    }
}

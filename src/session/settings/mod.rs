//! [`SessionConfig`]: the session settings (`config` reads them from the
//! environment).

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::secret::Secret;

pub mod preset;

use preset::{Preset, StoreKind};

/// Which session backend is used and its settings.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// `SESSION_BACKEND`: the preset that names the format and its defaults.
    pub preset: &'static Preset,
    /// Where the preset's sessions are kept, with its connection settings.
    pub store: StoreSettings,
    /// `SESSION_COOKIE`: the session cookie's name.
    pub cookie_name: String,
    /// `SESSION_COOKIE_SIGNED` (stores only): the cookie holds `s:<sid>.<sig>`.
    pub cookie_signed: bool,
    /// `SESSION_COOKIE_VALUE` (`signed-cookie` only): a plain id (default) or
    /// a `j:` JSON cookie.
    pub cookie_value: CookieValue,
    /// `SESSION_SECRET`: the app's cookie-signing secrets, newest first.
    pub secrets: Vec<Secret>,
    /// The variable [`secrets`](Self::secrets) came from: `SESSION_SECRET`,
    /// or the preset's fallback (`AUTH_SECRET`) when that was unset.
    pub secrets_var: &'static str,
    /// `SESSION_SUBJECT_POINTER`: JSON pointer to the user id in the session
    /// (stores) or in the upstream's answer.
    pub subject_pointer: String,
    /// `SESSION_ATTRIBUTES`: `name=/json/pointer` pairs read for the policy.
    pub attribute_pointers: Vec<(String, String)>,
    /// `SESSION_LOOKUP_TIMEOUT`: bound on one store or upstream lookup.
    pub lookup_timeout: Duration,
    /// `SESSION_CACHE_TTL`: how long a positive lookup is reused; zero = off.
    pub cache_ttl: Duration,
    /// `SESSION_CACHE_SIZE`: most cached sessions.
    pub cache_size: usize,
    /// `SESSION_CACHE_PER_CLIENT`: most cache entries one client address
    /// (IPv6: one /64) may hold.
    pub cache_per_client: usize,
    /// `SESSION_MAX_AGE`: the oldest session accepted, for formats whose
    /// cookie carries no expiry of its own (`None` elsewhere).
    pub max_age: Option<Duration>,
    /// The preset's own variables that are set (`Preset::options`), kept as
    /// secrets since some are keys.
    pub options: BTreeMap<&'static str, Secret>,
    /// The format's own settings, as its preset's check parsed them from
    /// [`options`](Self::options) (and the rest of this configuration).
    pub format: FormatSettings,
}

/// A format's own settings: the typed value its preset's
/// [`Check`](preset::Check) parsed once, read by its build and
/// warnings. Never shown: it may hold keys.
#[derive(Clone, Default)]
pub struct FormatSettings(Option<Arc<dyn Any + Send + Sync>>);

impl FormatSettings {
    /// No settings of the format's own.
    pub fn none() -> Self {
        Self(None)
    }

    /// These settings.
    pub fn new<T: Any + Send + Sync>(settings: T) -> Self {
        Self(Some(Arc::new(settings)))
    }

    /// The settings, if they are a `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.as_deref()?.downcast_ref()
    }
}

impl fmt::Debug for FormatSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("FormatSettings([redacted])"),
            None => f.write_str("FormatSettings(none)"),
        }
    }
}

impl SessionConfig {
    /// The value of the preset's own variable `var`, if set.
    pub fn option(&self, var: &str) -> Option<&str> {
        self.options.get(var).map(Secret::expose)
    }

    /// The format's settings as its preset's check parsed them; `Err` when
    /// this configuration was not checked (not read by `config`).
    pub fn settings<T: Any>(&self) -> Result<&T, String> {
        self.format.get().ok_or_else(|| {
            format!(
                "SESSION_BACKEND={}: the settings were not checked; read the configuration with \
                 Config::from_lookup",
                self.preset.name
            )
        })
    }

    /// Where the sessions live: the store the preset's store choice picked
    /// (Django's engine), else the preset's.
    pub fn store_kind(&self) -> StoreKind {
        self.preset
            .store_choice
            .and_then(|choice| {
                let value = self.option(choice.var.name)?;
                choice.choices.iter().find(|(name, _)| *name == value)
            })
            .map_or(self.preset.store, |(_, kind)| *kind)
    }
}

/// A setting a backend refused at start-up: the variable and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The variable at fault.
    pub var: &'static str,
    /// What is wrong and how to fix it (never the value of a secret).
    pub message: String,
}

/// Where sessions are kept: nowhere (the cookie carries them), or a store
/// with its connection settings. Which one a backend uses is its preset's
/// [`StoreKind`](preset::StoreKind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSettings {
    /// The cookie carries the session; nothing to look up.
    None,
    /// Session JSON at `<prefix><sid>` in Redis (connect-redis).
    Redis {
        /// `REDIS_URL` (may hold a password); `rediss://` for TLS.
        url: Secret,
        /// `SESSION_REDIS_PREFIX`, default `sess:`.
        prefix: String,
        /// `REDIS_CA_FILE`: PEM certificates trusted for `rediss://` instead
        /// of the system's roots.
        ca_pem: Option<Vec<u8>>,
        /// `REDIS_SENTINELS` + `REDIS_SENTINEL_MASTER`, or `REDIS_CLUSTER`.
        topology: crate::redis_conn::Topology,
    },
    /// connect-pg-simple: `<table>(sid, sess json, expire timestamp)`.
    Postgres {
        /// `DATABASE_URL` (may hold a password), without libpq's TLS
        /// parameters, which are below.
        url: Secret,
        /// `SESSION_PG_TABLE`, default `session`.
        table: String,
        /// The URL's `sslmode` (libpq's default: `prefer`).
        ssl_mode: SslMode,
        /// The PEM of the URL's `sslrootcert`.
        root_pem: Option<Vec<u8>>,
    },
    /// The app's own "who am I" endpoint.
    Upstream {
        /// `SESSION_UPSTREAM_URL` (may hold credentials).
        url: Secret,
        /// `SESSION_UPSTREAM_METHOD`: `GET` (default) or `POST`.
        method: String,
        /// `SESSION_UPSTREAM_HEADERS`: request headers forwarded besides `Cookie`.
        forward_headers: Vec<String>,
        /// `SESSION_UPSTREAM_COOKIES`: the cookies that identify a session
        /// (the cache key); empty = the whole `Cookie` header.
        session_cookies: Vec<String>,
    },
}

/// What the signed value holds (`SESSION_COOKIE_VALUE`). One or the other,
/// never both: if plain ids were read as JSON whenever they start with
/// `j:`, a user who may choose an id like `j:{"sub":"victim"}` would choose
/// another subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CookieValue {
    /// The user id itself (`res.cookie(name, user.id, {signed: true})`).
    #[default]
    Id,
    /// cookie-parser's JSON cookie `j:{"sub": ..}`
    /// (`res.cookie(name, {sub, org, roles}, {signed: true})`).
    Json,
}

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plaintext only.
    Disable,
    /// TLS when offered, unverified.
    Prefer,
    /// TLS, unverified (verified like `VerifyCa` with a root file).
    Require,
    /// TLS, the chain verified.
    VerifyCa,
    /// TLS, the chain and the host name verified.
    VerifyFull,
}

impl SslMode {
    /// The mode called `name`, as libpq spells it.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    /// What tokio-postgres is told (it knows only these three).
    pub fn for_tokio_postgres(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require | Self::VerifyCa | Self::VerifyFull => "require",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_settings_are_typed_and_never_shown() {
        let settings = FormatSettings::new(vec![("1".to_owned(), Secret::new("hunter2-secret"))]);
        assert_eq!(format!("{settings:?}"), "FormatSettings([redacted])");
        assert!(settings.get::<Vec<(String, Secret)>>().is_some());
        assert!(settings.get::<String>().is_none());
        assert!(FormatSettings::none().get::<String>().is_none());
    }
}

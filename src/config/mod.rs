//! Typed configuration, read once from the environment (and `.env`) and
//! validated before the port is bound.

use std::time::Duration;

use crate::policy::RoomPolicy;
pub use crate::ratelimit::LimitsConfig;
pub use crate::rooms::RoomsSettings;
pub use crate::secret::Secret;
pub use crate::session::preset::SecretRole;
pub use crate::session::{SessionConfig, StoreSettings};
use crate::telemetry::LogFormat;
pub use crate::token::{JwtConfig, JwtKey, VerifyRules};

mod dev;
mod dotenv;
mod dotenv_syntax;
mod jwt;
mod jwt_keys;
mod limits;
mod ops;
pub mod reference;
mod rooms;
mod session;
mod session_rows;
mod store;
mod strength;
mod vars;

pub use dev::{random_secret, DevDefaults};
pub use dotenv::Dotenv;
use jwt::{check_distinct_admin_key, read_admin_key, read_jwt, read_verify_rules};
pub use jwt::{parse_duration, parse_ttl};
use limits::read_limits;
use ops::{read_ops, read_origins, read_policy, read_server};
use session::read_session;
pub use session::MAX_LOOKUP_TIMEOUT;
use vars::Vars;
pub use vars::{ConfigError, ConfigErrors, Lookup};

pub use crate::secret::MIN_SECRET_BYTES;
/// Longest accepted token lifetime.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// The whole service configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where and how the HTTP server listens.
    pub server: ServerConfig,
    /// How tokens are signed.
    pub jwt: JwtConfig,
    /// Which rooms a principal is granted by the environment.
    pub policy: RoomPolicy,
    /// The room source that grants more, from the app's data.
    pub rooms: RoomsSettings,
    /// Where sessions are checked.
    pub session: SessionConfig,
    /// Exact origins (`scheme://host[:port]`) allowed to call with credentials.
    pub allowed_origins: Vec<String>,
    /// Enables bearer-key minting for any subject when set (`ADMIN_API_KEY`).
    pub admin_api_key: Option<Secret>,
    /// Rate limits and the proxies trusted to name the client.
    pub limits: LimitsConfig,
    /// Logs, metrics and shutdown.
    pub ops: OpsConfig,
}

/// Operational settings.
#[derive(Debug, Clone)]
pub struct OpsConfig {
    /// `LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `METRICS`: collect and serve metrics (default `on`).
    pub metrics: bool,
    /// `METRICS_ADDR`: serve `/metrics` on this `host:port` instead of the main port.
    pub metrics_addr: Option<String>,
    /// `SHUTDOWN_TIMEOUT`: how long in-flight requests may finish once the
    /// server stops.
    pub shutdown_timeout: Duration,
    /// `SHUTDOWN_GRACE`: after SIGTERM, how long the server keeps serving
    /// (with `/readyz` at 503) before it stops; zero stops at once.
    pub shutdown_grace: Duration,
}

/// Bind address and worker count.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `HOST`, default `0.0.0.0`.
    pub host: String,
    /// `PORT`, default `8080`; `0` picks a free port.
    pub port: u16,
    /// `WORKERS`, default: one per CPU core.
    pub workers: Option<usize>,
}

impl Config {
    /// Loads `.env` (if present) and reads the process environment; a
    /// value `.env` did not give as written is refused ([`Dotenv`]).
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Dotenv::load().read(|lookup| Self::from_lookup(lookup))
    }

    /// Reads the configuration through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: &Lookup) -> Result<Self, ConfigErrors> {
        let mut vars = Vars {
            lookup,
            errors: Vec::new(),
        };
        let server = read_server(&mut vars);
        let jwt = read_jwt(&mut vars);
        let (policy, rooms) = read_rooms_and_policy(&mut vars);
        let session = read_session(&mut vars);
        let allowed_origins = read_origins(&mut vars);
        let admin_api_key = read_admin_key(&mut vars);
        let limits = read_limits(&mut vars);
        let ops = read_ops(&mut vars);
        check_distinct_admin_key(&mut vars, &admin_api_key, &jwt, &session);
        for net in &limits.trusted_proxies {
            if let Some(why) = strength::trusts_everyone(net) {
                vars.fail("TRUSTED_PROXIES", why);
            }
        }
        if !vars.errors.is_empty() {
            return Err(ConfigErrors(vars.errors));
        }
        // Every reader above returned `Some` when no error was recorded.
        let mut rooms = rooms.expect("room settings");
        let session = session.expect("session config");
        rooms::from_session(&mut rooms, &session);
        Ok(Config {
            server,
            jwt: jwt.expect("jwt config"),
            policy: policy.expect("policy"),
            rooms,
            session,
            allowed_origins,
            admin_api_key,
            limits,
            ops,
        })
    }

    /// Warnings about settings that are valid but probably unintended.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for var in &self.jwt.unused {
            out.push(format!(
                "{var} is set but not used: tokens are signed with {} (JWT_PRIVATE_KEY_FILE); \
                 a verifier holding {var} cannot check them, give it the JWKS instead",
                self.jwt.algorithm()
            ));
        }
        let is_jwt_secret = |s: &Secret| self.jwt.hmac_keys().iter().any(|k| k.secret == *s);
        if self.session.secrets.iter().any(is_jwt_secret) {
            out.push(format!(
                "{} equals the JWT secret: they serve different purposes; use two different secrets",
                self.session.secrets_var
            ));
        }
        let why_not_refused = match self.session.preset.secret {
            SecretRole::SignsSessionId => Some("the store still has to know the session id"),
            SecretRole::VouchesAloneWarned => {
                Some("your framework accepts it; rotate to a longer one")
            }
            SecretRole::Unused | SecretRole::VouchesAlone => None,
        };
        for (i, secret) in self.session.secrets.iter().enumerate() {
            let weakness = strength::weakness(secret.expose());
            if let (Some(why), Some(excuse)) = (weakness, why_not_refused) {
                out.push(format!(
                    "{}: secret {} {why} ({excuse}, so this is not refused)",
                    self.session.secrets_var,
                    i + 1
                ));
            }
        }
        out.extend((self.session.preset.warnings)(&self.session));
        if let StoreSettings::Redis { url, .. } = &self.session.store {
            if url.expose().starts_with("rediss://") && url.expose().ends_with("#insecure") {
                out.push(
                    "REDIS_URL: TLS certificate verification is OFF (#insecure): anyone on the path to Redis can \
                     impersonate it; use REDIS_CA_FILE for a private CA, and #insecure only in development"
                        .into(),
                );
            }
        }
        out.extend((self.session.preset.warnings)(&self.session));
        for net in &self.limits.trusted_proxies {
            if !strength::is_private(net) {
                out.push(format!(
                    "TRUSTED_PROXIES: `{net}` holds public addresses; trust only the proxies in front of this service"
                ));
            }
        }
        for origin in &self.allowed_origins {
            if origin.ends_with('.') || origin.contains(".:") {
                out.push(format!(
                    "ALLOWED_ORIGINS: `{origin}` has a trailing dot in its host; browsers send it only for URLs typed that way"
                ));
            }
        }
        out
    }
}

/// Reads only the token-signing settings (for `mint` and `verify`).
pub fn jwt_from_lookup(lookup: &Lookup) -> Result<JwtConfig, ConfigErrors> {
    let mut vars = Vars {
        lookup,
        errors: Vec::new(),
    };
    let jwt = read_jwt(&mut vars);
    match jwt {
        Some(jwt) if vars.errors.is_empty() => Ok(jwt),
        _ => Err(ConfigErrors(vars.errors)),
    }
}

/// Reads only what a verifier without the signing keys checks:
/// `JWT_ALGORITHM`, `JWT_LEEWAY`, `JWT_ISSUER`, `JWT_AUDIENCE` (for
/// `verify --jwks`, or a Rust verifier reading a JWKS).
pub fn verify_rules_from_lookup(lookup: &Lookup) -> Result<VerifyRules, ConfigErrors> {
    let mut vars = Vars {
        lookup,
        errors: Vec::new(),
    };
    match read_verify_rules(&mut vars) {
        Some(rules) if vars.errors.is_empty() => Ok(rules),
        _ => Err(ConfigErrors(vars.errors)),
    }
}

/// Reads only the room source settings (for `mint`, which asks the source
/// when there is one).
pub fn room_source_from_lookup(lookup: &Lookup) -> Result<RoomsSettings, ConfigErrors> {
    let mut vars = Vars {
        lookup,
        errors: Vec::new(),
    };
    match rooms::read_rooms(&mut vars) {
        Some(rooms) if vars.errors.is_empty() => Ok(rooms),
        _ => Err(ConfigErrors(vars.errors)),
    }
}

/// Reads only the room policy and source (for `mint`).
pub fn rooms_from_lookup(lookup: &Lookup) -> Result<(RoomPolicy, RoomsSettings), ConfigErrors> {
    let mut vars = Vars {
        lookup,
        errors: Vec::new(),
    };
    match read_rooms_and_policy(&mut vars) {
        (Some(policy), Some(rooms)) if vars.errors.is_empty() => Ok((policy, rooms)),
        _ => Err(ConfigErrors(vars.errors)),
    }
}

/// The room source first: with one, the env policy may be empty.
fn read_rooms_and_policy(vars: &mut Vars) -> (Option<RoomPolicy>, Option<RoomsSettings>) {
    let rooms = rooms::read_rooms(vars);
    let source = rooms::SOURCE_VARS
        .iter()
        .any(|&var| vars.get(var).is_some());
    (read_policy(vars, source), rooms)
}

#[cfg(test)]
mod tests {
    use super::ops::check_origin;
    use super::*;

    #[test]
    fn ttl_forms() {
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        for bad in [
            "", "h", "1x", "0", "25h", "-5", "1.5h", "m1", "1500ms", "1ms",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("super-secret-value");
        assert!(!format!("{s:?}").contains("super"));
    }

    #[test]
    fn origins_must_be_exact() {
        assert!(check_origin("https://app.example.com").is_ok());
        assert!(check_origin("http://localhost:3000").is_ok());
        for bad in [
            "*",
            "https://*.example.com",
            "app.example.com",
            "https://a.com/",
            "https://a.com/x",
            "null",
        ] {
            assert!(check_origin(bad).is_err(), "{bad} accepted");
        }
    }
}

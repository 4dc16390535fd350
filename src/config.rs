//! Typed configuration, read once from the environment (and `.env`) and
//! validated before the port is bound.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use rand::RngCore as _;

use crate::policy::RoomPolicy;
pub use crate::ratelimit::LimitsConfig;
use crate::ratelimit::{
    parse_ipv6_prefix, parse_trusted_proxies, ProxyHeader, Rate, DEFAULT_IPV6_PREFIX,
};
pub use crate::secret::Secret;
use crate::session::CookieValue;
pub use crate::session::{SessionBackend, SessionConfig};
use crate::telemetry::LogFormat;
pub use crate::token::{JwtConfig, JwtKey};

mod strength;

/// Shortest accepted HS256 secret and admin key, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// Longest accepted token lifetime.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// The whole service configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where and how the HTTP server listens.
    pub server: ServerConfig,
    /// How tokens are signed.
    pub jwt: JwtConfig,
    /// Which rooms a principal is granted.
    pub policy: RoomPolicy,
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
    /// `SHUTDOWN_TIMEOUT`: how long in-flight requests may finish after SIGTERM.
    pub shutdown_timeout: Duration,
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

/// One invalid setting: the variable and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigError {
    fn new(var: &'static str, message: impl Into<String>) -> Self {
        Self {
            var,
            message: message.into(),
        }
    }
}

/// Every invalid setting found, one per line when displayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl ConfigErrors {
    /// True when some error is about `var`.
    pub fn mentions(&self, var: &str) -> bool {
        self.0.iter().any(|e| e.var == var)
    }
}

/// Reads variables by name; empty values count as unset.
struct Vars<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<ConfigError>,
}

impl Vars<'_> {
    fn get(&self, var: &str) -> Option<String> {
        (self.lookup)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A secret exactly as set (not trimmed: a verifier elsewhere reads the
    /// raw value); unset when empty or only whitespace.
    fn get_secret(&self, var: &str) -> Option<String> {
        (self.lookup)(var).filter(|v| !v.trim().is_empty())
    }

    fn fail(&mut self, var: &'static str, message: impl Into<String>) {
        self.errors.push(ConfigError::new(var, message));
    }

    /// Records an error and yields `None` when `result` is an error.
    fn check<T>(&mut self, var: &'static str, result: Result<T, String>) -> Option<T> {
        result.map_err(|m| self.fail(var, m)).ok()
    }
}

impl Config {
    /// Loads `.env` (if present) and reads the process environment.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        load_dotenv();
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let mut vars = Vars {
            lookup,
            errors: Vec::new(),
        };
        let server = read_server(&mut vars);
        let jwt = read_jwt(&mut vars);
        let policy = read_policy(&mut vars);
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
        Ok(Config {
            server,
            jwt: jwt.expect("jwt config"),
            policy: policy.expect("policy"),
            session: session.expect("session config"),
            allowed_origins,
            admin_api_key,
            limits,
            ops,
        })
    }

    /// Warnings about settings that are valid but probably unintended.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let is_jwt_secret = |s: &Secret| self.jwt.keys.iter().any(|k| k.secret == *s);
        if self.session.secrets.iter().any(is_jwt_secret) {
            out.push(
                "SESSION_SECRET equals the JWT secret: they serve different purposes; use two different secrets".into(),
            );
        }
        let checks_store_ids = !matches!(
            self.session.backend,
            SessionBackend::SignedCookie | SessionBackend::Upstream { .. }
        );
        for (i, secret) in self.session.secrets.iter().enumerate() {
            if let Some(why) = strength::weakness(secret.expose()).filter(|_| checks_store_ids) {
                out.push(format!(
                    "SESSION_SECRET: secret {} {why} (the store still has to know the session id, so this is not refused)",
                    i + 1
                ));
            }
        }
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
pub fn jwt_from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<JwtConfig, ConfigErrors> {
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

/// Reads only the room policy (for `mint` without `--rooms`).
pub fn policy_from_lookup(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<RoomPolicy, ConfigErrors> {
    let mut vars = Vars {
        lookup,
        errors: Vec::new(),
    };
    let policy = read_policy(&mut vars);
    match policy {
        Some(policy) if vars.errors.is_empty() => Ok(policy),
        _ => Err(ConfigErrors(vars.errors)),
    }
}

/// Loads `.env` from the working directory when present, without
/// overriding variables already set in the environment.
pub fn load_dotenv() {
    // A missing .env is the normal case in containers.
    let _ = dotenvy::dotenv();
}

fn read_server(vars: &mut Vars) -> ServerConfig {
    let host = vars.get("HOST").unwrap_or_else(|| "0.0.0.0".into());
    let port = match vars.get("PORT") {
        None => 8080,
        Some(p) => vars
            .check(
                "PORT",
                p.parse::<u16>()
                    .map_err(|_| format!("`{p}` is not a port number; use e.g. PORT=8080")),
            )
            .unwrap_or(8080),
    };
    let workers = vars.get("WORKERS").and_then(|w| {
        vars.check(
            "WORKERS",
            w.parse::<usize>()
                .ok()
                .filter(|n| (1..=1024).contains(n))
                .ok_or_else(|| {
                    format!("`{w}` is not a worker count from 1 to 1024; unset it for one per core")
                }),
        )
    });
    ServerConfig {
        host,
        port,
        workers,
    }
}

fn read_jwt(vars: &mut Vars) -> Option<JwtConfig> {
    let keys = read_jwt_keys(vars);
    let (var, secret) = match (
        vars.get_secret("JWT_SECRET"),
        vars.get_secret("TEST_JWT_SECRET"),
    ) {
        (Some(s), _) => ("JWT_SECRET", Some(s)),
        (None, Some(s)) => ("TEST_JWT_SECRET", Some(s)),
        (None, None) => ("JWT_SECRET", None),
    };
    let plain = match secret {
        // With JWT_KEYS set, the plain secret still verifies (kid-less) tokens.
        Some(s) => vars.check(
            var,
            check_secret(&s).map(|_| JwtKey {
                kid: None,
                secret: Secret::new(s),
            }),
        ),
        None if keys.as_ref().is_some_and(Vec::is_empty) => {
            vars.fail(
                "JWT_SECRET",
                "not set; set JWT_SECRET (or TEST_JWT_SECRET) to the realtime server's secret, \
                 at least 32 bytes (e.g. `openssl rand -base64 48`), or run `realtime-token dev` to try it out",
            );
            None
        }
        None => None,
    };
    let ttl = match vars.get("TOKEN_TTL") {
        None => Some(Duration::from_secs(3600)),
        Some(t) => vars.check("TOKEN_TTL", parse_ttl(&t)),
    };
    let leeway = match vars.get("JWT_LEEWAY").as_deref() {
        None => Duration::from_secs(30),
        Some("0") => Duration::ZERO,
        Some(_) => read_duration(
            vars,
            "JWT_LEEWAY",
            Duration::from_secs(30),
            Duration::from_secs(300),
        ),
    };
    let issuer = vars.get("JWT_ISSUER");
    let audience = vars.get("JWT_AUDIENCE");
    let mut keys = keys?;
    keys.extend(plain);
    if keys.is_empty() {
        return None;
    }
    Some(JwtConfig {
        keys,
        leeway,
        issuer,
        audience,
        ttl: ttl?,
    })
}

/// `JWT_KEYS=kid1:secret1,kid2:secret2`, the first signs.
fn read_jwt_keys(vars: &mut Vars) -> Option<Vec<JwtKey>> {
    let Some(list) = vars.get_secret("JWT_KEYS") else {
        return Some(Vec::new());
    };
    let mut keys: Vec<JwtKey> = Vec::new();
    for (i, entry) in list.split(',').filter(|e| !e.trim().is_empty()).enumerate() {
        let Some((kid, secret)) = entry.split_once(':') else {
            vars.fail("JWT_KEYS", format!("entry {} is not `kid:secret`; e.g. JWT_KEYS=2026-11:<secret>,2026-10:<old secret>", i + 1));
            return None;
        };
        let kid = kid.trim();
        if kid.is_empty()
            || kid.len() > 64
            || !kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            vars.fail(
                "JWT_KEYS",
                format!(
                    "key id `{}` must be 1-64 letters, digits, `._-`",
                    kid.escape_default()
                ),
            );
            return None;
        }
        if keys.iter().any(|k| k.kid.as_deref() == Some(kid)) {
            vars.fail("JWT_KEYS", format!("key id `{kid}` appears twice"));
            return None;
        }
        if let Err(e) = check_secret(secret) {
            vars.fail("JWT_KEYS", format!("the secret of `{kid}` {e}"));
            return None;
        }
        keys.push(JwtKey {
            kid: Some(kid.to_owned()),
            secret: Secret::new(secret),
        });
    }
    Some(keys)
}

/// A signing key or API key: long, varied, and free of surrounding whitespace.
fn check_secret(secret: &str) -> Result<(), String> {
    strength::weakness(secret).map_or(Ok(()), Err)
}

/// `ADMIN_API_KEY` must differ from every other secret: one leaked value
/// must not open two doors.
fn check_distinct_admin_key(
    vars: &mut Vars,
    admin: &Option<Secret>,
    jwt: &Option<JwtConfig>,
    session: &Option<SessionConfig>,
) {
    let Some(admin) = admin else { return };
    let jwt_keys = jwt.iter().flat_map(|j| j.keys.iter().map(|k| &k.secret));
    let session_secrets = session.iter().flat_map(|s| s.secrets.iter());
    if jwt_keys.chain(session_secrets).any(|s| s == admin) {
        vars.fail(
            "ADMIN_API_KEY",
            "equals the JWT secret or a session secret; use a value of its own (`openssl rand -base64 48`)",
        );
    }
}

/// Parses a token lifetime: plain seconds (`3600`) or units `s`, `m`, `h`,
/// `d`, possibly combined (`1h30m`). Between 1 second and 24 hours.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let hint = "use e.g. `1h`, `15m`, `90s` or `3600`";
    let ttl = parse_duration(text).ok_or_else(|| format!("`{text}` is not a duration; {hint}"))?;
    if ttl < Duration::from_secs(1) || ttl > MAX_TTL || ttl.subsec_millis() != 0 {
        return Err(format!(
            "`{text}` is outside 1s..24h in whole seconds; tokens are meant to be short-lived ({hint})"
        ));
    }
    Ok(ttl)
}

/// Parses `3600` (seconds), `500ms`, `90s`, `15m`, `1h`, `2d` and sums like `1h30m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().map(Duration::from_secs);
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit_ms, len) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match rest.bytes().next()? {
                b's' => (1_000, 1),
                b'm' => (60_000, 1),
                b'h' => (3_600_000, 1),
                b'd' => (86_400_000, 1),
                _ => return None,
            }
        };
        rest = &rest[len..];
        total_ms = total_ms.checked_add(n.checked_mul(unit_ms)?)?;
    }
    Some(Duration::from_millis(total_ms))
}

fn read_policy(vars: &mut Vars) -> Option<RoomPolicy> {
    let defaults = vars.get("REALTIME_ROOMS").unwrap_or_default();
    let roles = vars.get("REALTIME_ROLE_ROOMS").unwrap_or_default();
    let role_attr = vars
        .get("REALTIME_ROLE_ATTRIBUTE")
        .unwrap_or_else(|| "roles".into());
    if defaults.is_empty() && roles.is_empty() {
        vars.fail(
            "REALTIME_ROOMS",
            "no room grants configured, so every request would be refused; set e.g. REALTIME_ROOMS=document-*,user-{sub}",
        );
        return None;
    }
    let defaults = vars.check(
        "REALTIME_ROOMS",
        RoomPolicy::parse_templates(&defaults)
            .map_err(|e| format!("{e}; e.g. REALTIME_ROOMS=document-*,user-{{sub}}")),
    );
    let roles = vars.check(
        "REALTIME_ROLE_ROOMS",
        RoomPolicy::parse_role_grants(&roles)
            .map_err(|e| format!("{e}; e.g. REALTIME_ROLE_ROOMS=admin=*;editor=document-*")),
    );
    Some(RoomPolicy::new(defaults?, roles?, role_attr))
}

fn read_session(vars: &mut Vars) -> Option<SessionConfig> {
    let backend = read_backend(vars);
    let is_store = matches!(
        backend,
        Some(SessionBackend::Redis { .. } | SessionBackend::Postgres { .. })
    );
    let is_upstream = matches!(backend, Some(SessionBackend::Upstream { .. }));
    let default_cookie = if is_store { "connect.sid" } else { "session" };
    let cookie_name = vars
        .get("SESSION_COOKIE")
        .unwrap_or_else(|| default_cookie.into());
    if !is_cookie_name(&cookie_name) {
        vars.fail(
            "SESSION_COOKIE",
            format!("`{cookie_name}` is not a valid cookie name; use letters, digits and `._-`"),
        );
    }
    let cookie_value = match vars.get("SESSION_COOKIE_VALUE").as_deref() {
        None | Some("id") => CookieValue::Id,
        Some("json") => CookieValue::Json,
        Some(other) => {
            vars.fail(
                "SESSION_COOKIE_VALUE",
                format!("`{other}` is not `id` or `json` (json: cookie-parser's j: cookies, from res.cookie(name, object, {{signed: true}}))"),
            );
            CookieValue::Id
        }
    };
    let cookie_signed = match vars.get("SESSION_COOKIE_SIGNED").as_deref() {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            vars.fail(
                "SESSION_COOKIE_SIGNED",
                format!("`{other}` is not `true` or `false`"),
            );
            true
        }
    };
    let secrets: Vec<Secret> = vars
        .get_secret("SESSION_SECRET")
        .map(|s| {
            s.split(',')
                .filter(|s| !s.trim().is_empty())
                .map(Secret::new)
                .collect()
        })
        .unwrap_or_default();
    // With signed-cookie the secret alone vouches for the user id; with a
    // store the session id must exist too (a weak secret is only warned of).
    let vouches_alone = backend == Some(SessionBackend::SignedCookie);
    for (i, secret) in secrets.iter().enumerate() {
        let problem = match vouches_alone {
            true => strength::weakness(secret.expose()),
            false => strength::untrimmed(secret.expose()),
        };
        if let Some(why) = problem {
            vars.fail("SESSION_SECRET", format!("secret {} {why}", i + 1));
        }
    }
    let needs_secret =
        !is_upstream && (cookie_signed || backend == Some(SessionBackend::SignedCookie));
    if secrets.is_empty() && needs_secret {
        vars.fail(
            "SESSION_SECRET",
            "not set; set it to your app's cookie-signing secret (comma-separated, newest first, for rotation)",
        );
    }
    let default_pointer = if is_upstream { "/id" } else { "/userId" };
    let subject_pointer = vars
        .get("SESSION_SUBJECT_POINTER")
        .unwrap_or_else(|| default_pointer.into());
    if !subject_pointer.starts_with('/') {
        vars.fail(
            "SESSION_SUBJECT_POINTER",
            format!(
                "`{subject_pointer}` is not a JSON pointer; use e.g. /userId or /passport/user"
            ),
        );
    }
    let attribute_pointers = read_attribute_pointers(vars);
    let lookup_timeout = read_duration(
        vars,
        "SESSION_LOOKUP_TIMEOUT",
        Duration::from_millis(500),
        MAX_LOOKUP_TIMEOUT,
    );
    let default_cache = if is_upstream {
        Duration::from_secs(2)
    } else {
        Duration::ZERO
    };
    let cache_ttl = match vars.get("SESSION_CACHE_TTL").as_deref() {
        Some("0") | Some("off") => Duration::ZERO,
        _ => read_duration(
            vars,
            "SESSION_CACHE_TTL",
            default_cache,
            Duration::from_secs(300),
        ),
    };
    let cache_size = match vars.get("SESSION_CACHE_SIZE") {
        None => 10_000,
        Some(n) => vars
            .check(
                "SESSION_CACHE_SIZE",
                n.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=10_000_000).contains(n))
                    .ok_or_else(|| format!("`{n}` is not a count from 1 to 10000000")),
            )
            .unwrap_or(10_000),
    };
    let cache_per_client = match vars.get("SESSION_CACHE_PER_CLIENT") {
        None => 1000,
        Some(n) => vars
            .check(
                "SESSION_CACHE_PER_CLIENT",
                n.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    format!(
                        "`{n}` is not a count of at least 1; e.g. SESSION_CACHE_PER_CLIENT=1000"
                    )
                }),
            )
            .unwrap_or(1000),
    };
    Some(SessionConfig {
        backend: backend?,
        cache_per_client,
        cookie_name,
        cookie_signed,
        cookie_value,
        secrets,
        subject_pointer,
        attribute_pointers,
        lookup_timeout,
        cache_ttl,
        cache_size,
    })
}

/// Longest accepted session lookup timeout.
pub const MAX_LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

fn read_backend(vars: &mut Vars) -> Option<SessionBackend> {
    let hint = "use signed-cookie, redis, postgres or upstream";
    match vars.get("SESSION_BACKEND").as_deref() {
        None | Some("signed-cookie") => Some(SessionBackend::SignedCookie),
        Some("redis") => {
            let url = required_url(vars, "REDIS_URL", &["redis://"], "redis://127.0.0.1:6379")?;
            let prefix = vars
                .get("SESSION_REDIS_PREFIX")
                .unwrap_or_else(|| "sess:".into());
            Some(SessionBackend::Redis { url, prefix })
        }
        Some("postgres") => {
            let url = required_url(
                vars,
                "DATABASE_URL",
                &["postgres://", "postgresql://"],
                "postgres://user:password@127.0.0.1:5432/app",
            )?;
            let wants_tls = ["require", "verify-ca", "verify-full"]
                .iter()
                .any(|mode| url.expose().contains(&format!("sslmode={mode}")));
            if wants_tls {
                vars.fail(
                    "DATABASE_URL",
                    "asks for TLS (sslmode=require/verify-*), which this build does not speak to PostgreSQL; \
                     connect over a private network (sslmode=disable or prefer) or through a TLS-terminating proxy",
                );
                return None;
            }
            let table = vars
                .get("SESSION_PG_TABLE")
                .unwrap_or_else(|| "session".into());
            let valid = table.split('.').count() <= 2
                && table.split('.').all(|part| {
                    !part.is_empty()
                        && !part.starts_with(|c: char| c.is_ascii_digit())
                        && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                });
            if !valid {
                vars.fail(
                    "SESSION_PG_TABLE",
                    format!("`{table}` is not a table name; use letters, digits, `_`, optionally `schema.table`"),
                );
                return None;
            }
            Some(SessionBackend::Postgres { url, table })
        }
        Some("upstream") => {
            let url = required_url(
                vars,
                "SESSION_UPSTREAM_URL",
                &["http://", "https://"],
                "http://127.0.0.1:3000/api/me",
            )?;
            let method = vars
                .get("SESSION_UPSTREAM_METHOD")
                .unwrap_or_else(|| "GET".into())
                .to_ascii_uppercase();
            if method != "GET" && method != "POST" {
                vars.fail(
                    "SESSION_UPSTREAM_METHOD",
                    format!("`{method}` is not GET or POST"),
                );
            }
            let forward_headers: Vec<String> = vars
                .get("SESSION_UPSTREAM_HEADERS")
                .unwrap_or_default()
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
            for h in &forward_headers {
                let forbidden = matches!(
                    h.as_str(),
                    "authorization"
                        | "host"
                        | "content-length"
                        | "transfer-encoding"
                        | "connection"
                );
                if forbidden || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    vars.fail(
                        "SESSION_UPSTREAM_HEADERS",
                        format!("`{h}` cannot be forwarded; list plain header names (not Authorization, Host or hop-by-hop headers)"),
                    );
                }
            }
            let session_cookies: Vec<String> = vars
                .get("SESSION_UPSTREAM_COOKIES")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            if let Some(bad) = session_cookies.iter().find(|c| !is_cookie_name(c)) {
                vars.fail(
                    "SESSION_UPSTREAM_COOKIES",
                    format!("`{bad}` is not a cookie name; list your app's session cookie names, e.g. SESSION_UPSTREAM_COOKIES=connect.sid"),
                );
            }
            Some(SessionBackend::Upstream {
                url,
                method,
                forward_headers,
                session_cookies,
            })
        }
        Some(other) => {
            vars.fail(
                "SESSION_BACKEND",
                format!("`{other}` is not a backend; {hint}"),
            );
            None
        }
    }
}

fn required_url(
    vars: &mut Vars,
    var: &'static str,
    schemes: &[&str],
    example: &str,
) -> Option<Secret> {
    let Some(url) = vars.get(var) else {
        vars.fail(
            var,
            format!("not set; this backend needs it, e.g. {var}={example}"),
        );
        return None;
    };
    if url.starts_with("rediss://") {
        vars.fail(
            var,
            "rediss:// (TLS) is not supported by this build; reach Redis over a private network with redis://, \
             or through a TLS-terminating proxy",
        );
        return None;
    }
    if !schemes.iter().any(|s| url.starts_with(s)) {
        vars.fail(
            var,
            format!(
                "must start with {}; e.g. {var}={example}",
                schemes.join(" or ")
            ),
        );
        return None;
    }
    Some(Secret::new(url))
}

fn read_attribute_pointers(vars: &mut Vars) -> Vec<(String, String)> {
    let Some(spec) = vars.get("SESSION_ATTRIBUTES") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some((name, pointer))
                if !name.trim().is_empty()
                    && name.trim().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && pointer.trim().starts_with('/') =>
            {
                out.push((name.trim().to_owned(), pointer.trim().to_owned()));
            }
            _ => vars.fail(
                "SESSION_ATTRIBUTES",
                format!("`{pair}` is not `name=/json/pointer`; e.g. SESSION_ATTRIBUTES=org=/org,roles=/passport/roles"),
            ),
        }
    }
    out
}

fn read_duration(vars: &mut Vars, var: &'static str, default: Duration, max: Duration) -> Duration {
    let Some(text) = vars.get(var) else {
        return default;
    };
    let parsed = parse_duration(&text)
        .filter(|d| !d.is_zero() && *d <= max)
        .ok_or_else(|| {
            format!(
                "`{text}` is not a duration up to {}s; use e.g. `500ms` or `2s`",
                max.as_secs()
            )
        });
    vars.check(var, parsed).unwrap_or(default)
}

fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn read_origins(vars: &mut Vars) -> Vec<String> {
    let Some(list) = vars.get("ALLOWED_ORIGINS") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        match check_origin(origin) {
            Ok(()) => out.push(origin.to_owned()),
            Err(m) => vars.fail("ALLOWED_ORIGINS", m),
        }
    }
    out
}

fn check_origin(origin: &str) -> Result<(), String> {
    let hint = "list exact origins like `https://app.example.com,http://localhost:3000`";
    if origin == "*" || origin.contains('*') {
        return Err(format!(
            "wildcards are not allowed with credentials; {hint}"
        ));
    }
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| format!("`{origin}` has no http:// or https:// scheme; {hint}"))?;
    let valid_host = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !valid_host {
        return Err(format!(
            "`{origin}` is not a bare origin (no path, no trailing slash); {hint}"
        ));
    }
    strength::unsendable_origin(origin).map_or(Ok(()), Err)
}

fn read_limits(vars: &mut Vars) -> LimitsConfig {
    let mut rate = |var: &'static str, default: Rate| match vars.get(var) {
        None => Some(default),
        Some(text) => vars.check(var, Rate::parse(&text)).unwrap_or(Some(default)),
    };
    let per_client = rate(
        "RATE_LIMIT_IP",
        Rate {
            count: 600,
            period: Duration::from_secs(60),
        },
    );
    let per_subject = rate(
        "RATE_LIMIT_SUBJECT",
        Rate {
            count: 60,
            period: Duration::from_secs(60),
        },
    );
    let trusted_proxies = match vars.get("TRUSTED_PROXIES") {
        None => Vec::new(),
        Some(list) => vars
            .check("TRUSTED_PROXIES", parse_trusted_proxies(&list))
            .unwrap_or_default(),
    };
    let proxy_header = vars
        .get("TRUSTED_PROXY_HEADER")
        .and_then(|text| vars.check("TRUSTED_PROXY_HEADER", ProxyHeader::parse(&text)))
        .unwrap_or_default();
    let ipv6_prefix = vars
        .get("RATE_LIMIT_IPV6_PREFIX")
        .and_then(|text| vars.check("RATE_LIMIT_IPV6_PREFIX", parse_ipv6_prefix(&text)))
        .unwrap_or(DEFAULT_IPV6_PREFIX);
    LimitsConfig {
        per_client,
        per_subject,
        trusted_proxies,
        proxy_header,
        ipv6_prefix,
    }
}

fn read_ops(vars: &mut Vars) -> OpsConfig {
    let log_format = match vars.get("LOG_FORMAT").as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            vars.fail("LOG_FORMAT", format!("`{other}` is not `text` or `json`"));
            LogFormat::Text
        }
    };
    let metrics = match vars.get("METRICS").as_deref() {
        None | Some("on") => true,
        Some("off") => false,
        Some(other) => {
            vars.fail("METRICS", format!("`{other}` is not `on` or `off`"));
            true
        }
    };
    let metrics_addr = vars.get("METRICS_ADDR").filter(|_| metrics);
    if let Some(addr) = &metrics_addr {
        if addr.parse::<std::net::SocketAddr>().is_err() {
            vars.fail(
                "METRICS_ADDR",
                format!("`{addr}` is not `ip:port`; e.g. METRICS_ADDR=127.0.0.1:9100"),
            );
        }
    }
    let shutdown_timeout = read_duration(
        vars,
        "SHUTDOWN_TIMEOUT",
        Duration::from_secs(10),
        Duration::from_secs(300),
    );
    OpsConfig {
        log_format,
        metrics,
        metrics_addr,
        shutdown_timeout,
    }
}

fn read_admin_key(vars: &mut Vars) -> Option<Secret> {
    let key = vars.get_secret("ADMIN_API_KEY")?;
    vars.check(
        "ADMIN_API_KEY",
        check_secret(&key).map(|_| Secret::new(key)),
    )
}

/// Settings that dev mode fills in when the environment leaves them unset.
pub struct DevDefaults {
    /// The overlay: variable → value.
    vars: HashMap<&'static str, String>,
    /// True when the JWT secret is ephemeral (nothing else can verify tokens).
    pub ephemeral_jwt_secret: bool,
}

impl DevDefaults {
    /// Random secrets and permissive-but-local defaults for `realtime-token
    /// dev`. It binds `host`, else 127.0.0.1, whatever `HOST` (or `.env`) says.
    pub fn generate(lookup: &dyn Fn(&str) -> Option<String>, host: Option<&str>) -> Self {
        let set = |k: &str| lookup(k).is_some_and(|v| !v.trim().is_empty());
        let mut vars = HashMap::new();
        let ephemeral_jwt_secret =
            !set("JWT_SECRET") && !set("TEST_JWT_SECRET") && !set("JWT_KEYS");
        if ephemeral_jwt_secret {
            vars.insert("JWT_SECRET", random_secret());
        }
        // Dev mode signs its own cookie, so it always owns the session settings.
        vars.insert("SESSION_BACKEND", "signed-cookie".into());
        vars.insert("SESSION_SECRET", random_secret());
        vars.insert("HOST", host.unwrap_or("127.0.0.1").into());
        for (k, v) in [
            ("REALTIME_ROOMS", "document-*,user-{sub}"),
            (
                "ALLOWED_ORIGINS",
                "http://localhost:3000,http://127.0.0.1:3000",
            ),
        ] {
            if !set(k) {
                vars.insert(k, v.into());
            }
        }
        Self {
            vars,
            ephemeral_jwt_secret,
        }
    }

    /// Reads the configuration with these defaults laid over `lookup`.
    pub fn config(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
        Config::from_lookup(&|k| self.vars.get(k).cloned().or_else(|| lookup(k)))
    }
}

/// A random secret of 48 bytes, base64url-encoded (64 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
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

//! The `realtime-token` command line: `serve` (default), `dev`, `mint`,
//! `verify`, `check-config` and `healthcheck`.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::Map;

use crate::app::Application;
use crate::config::{self, Config, ConfigErrors, DevDefaults, SessionBackend};
use crate::policy::validate_room_pattern;
use crate::session::cookies::{percent_encode, CookieSigner};
use crate::session::Principal;
use crate::telemetry::{flush_logs, init_logging};
use crate::token::{unix_now, TokenIssuer, TokenVerifier};

/// Exit code for a configuration error.
const EXIT_CONFIG: u8 = 2;

/// Hands browsers short-lived JWTs for a Realtime SDK WebSocket server.
#[derive(Debug, Parser)]
#[command(name = "realtime-token", version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service with the configuration from the environment and `.env`.
    Serve,
    /// Run a throwaway local instance: random secrets, a signed-cookie
    /// session, and a ready-to-paste curl command. Never for production.
    /// Binds 127.0.0.1 whatever `HOST` says.
    Dev {
        /// Bind this address instead of 127.0.0.1 (logged as a warning):
        /// anyone who can reach it can mint tokens with the printed cookie.
        #[arg(long)]
        host: Option<String>,
    },
    /// Sign a token by hand with the configured secret, issuer and audience.
    Mint {
        /// The subject (user id).
        #[arg(long)]
        sub: String,
        /// Room patterns, comma-separated; default: what REALTIME_ROOMS grants `sub`.
        #[arg(long, value_delimiter = ',')]
        rooms: Vec<String>,
        /// Lifetime, e.g. `15m`; default TOKEN_TTL.
        #[arg(long)]
        ttl: Option<String>,
        /// Print `{"token", "expiresAt", "rooms"}` instead of the bare token.
        #[arg(long)]
        json: bool,
    },
    /// Check a token's signature, expiry, issuer and audience; print its claims.
    Verify {
        /// The token; read from standard input when omitted or `-`.
        token: Option<String>,
    },
    /// Print the effective configuration (secrets redacted); non-zero exit on any error.
    CheckConfig,
    /// Exit 0 when the local server answers `GET /healthz` (for container health checks).
    Healthcheck {
        /// Port to probe; default PORT or 8080.
        #[arg(long)]
        port: Option<u16>,
    },
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::Dev { host } => dev(host),
        Command::Mint {
            sub,
            rooms,
            ttl,
            json,
        } => mint(&sub, rooms, ttl.as_deref(), json),
        Command::Verify { token } => verify(token),
        Command::CheckConfig => check_config(),
        Command::Healthcheck { port } => healthcheck(port),
    }
}

fn env_lookup(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

fn report_config_errors(errors: &ConfigErrors) -> ExitCode {
    eprintln!("realtime-token: invalid configuration:");
    for e in &errors.0 {
        eprintln!("  {e}");
    }
    eprintln!("(to try the service without configuration, run `realtime-token dev`)");
    ExitCode::from(EXIT_CONFIG)
}

fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(errors) => return report_config_errors(&errors),
    };
    init_logging(config.ops.log_format);
    run(&config, |_| {})
}

/// Binds, logs the effective settings, calls `on_bound` with the port, serves.
fn run(config: &Config, on_bound: impl FnOnce(u16)) -> ExitCode {
    for warning in config.warnings() {
        log::warn!("{warning}");
    }
    if let Err(e) = self_check(config) {
        log::error!("start-up self-check failed: {e}");
        flush_logs(Duration::from_secs(2));
        return ExitCode::FAILURE;
    }
    let result = actix_web::rt::System::new().block_on(async {
        let app = Application::build(config)?;
        log::info!(
            "listening on {}:{} (session backend {}, rooms {}, {} allowed origin(s), admin minting {})",
            config.server.host,
            app.port(),
            config.session.backend.name(),
            config.policy.describe(),
            config.allowed_origins.len(),
            if config.admin_api_key.is_some() { "on" } else { "off" },
        );
        if let Some(port) = app.metrics_port() {
            log::info!("metrics on {}:{port}/metrics", config.ops.metrics_addr.as_deref().unwrap_or("?"));
        }
        on_bound(app.port());
        app.run_until_stopped().await
    });
    let code = match result {
        Ok(()) => {
            log::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    };
    flush_logs(Duration::from_secs(2));
    code
}

/// Mints and verifies one token with the configured settings.
fn self_check(config: &Config) -> Result<(), String> {
    let issued = TokenIssuer::new(&config.jwt)
        .issue("self-check", vec!["self-check".into()])
        .map_err(|e| e.to_string())?;
    let claims = TokenVerifier::new(&config.jwt)
        .verify(&issued.token)
        .map_err(|e| format!("a freshly minted token does not verify: {e}"))?;
    if claims.sub != "self-check" {
        return Err("a freshly minted token lost its subject".into());
    }
    Ok(())
}

fn dev(host: Option<String>) -> ExitCode {
    config::load_dotenv();
    let defaults = DevDefaults::generate(&env_lookup, host.as_deref());
    let config = match defaults.config(&env_lookup) {
        Ok(config) => config,
        Err(errors) => return report_config_errors(&errors),
    };
    init_logging(config.ops.log_format);
    log::warn!("DEV MODE: random session secret, a printed login cookie; never expose this instance or use it in production");
    if let Some(ignored) = env_lookup("HOST").filter(|h| !h.trim().is_empty() && host.is_none()) {
        log::warn!(
            "DEV MODE: ignoring HOST={ignored} and binding 127.0.0.1; pass --host to override"
        );
    }
    if let Some(host) = &host {
        log::warn!("DEV MODE: binding {host} (--host): anyone who can reach it can get tokens with a dev cookie");
    }
    if defaults.ephemeral_jwt_secret {
        log::warn!("DEV MODE: the JWT secret is random for this run, so only this process can verify its tokens; set TEST_JWT_SECRET to share one with your realtime server");
    }
    let signer = CookieSigner::new(config.session.secrets.iter().map(|s| s.expose()));
    let cookie = format!(
        "{}={}",
        config.session.cookie_name,
        percent_encode(&signer.sign("dev-user"))
    );
    let host = match config.server.host.as_str() {
        "0.0.0.0" | "::" => "127.0.0.1".to_owned(),
        h => h.to_owned(),
    };
    run(&config, |port| {
        println!();
        println!("realtime-token dev mode is up. Get a token for user `dev-user`:");
        println!();
        println!(
            "  curl -sS -X POST http://{host}:{port}/api/realtime-token -H 'Cookie: {cookie}'"
        );
        println!();
        let _ = std::io::stdout().flush();
    })
}

fn mint(sub: &str, rooms: Vec<String>, ttl: Option<&str>, json: bool) -> ExitCode {
    config::load_dotenv();
    let jwt = match config::jwt_from_lookup(&env_lookup) {
        Ok(jwt) => jwt,
        Err(errors) => return report_config_errors(&errors),
    };
    let mut issuer = TokenIssuer::new(&jwt);
    if let Some(ttl) = ttl {
        match config::parse_ttl(ttl) {
            Ok(ttl) => issuer = issuer.with_ttl(ttl),
            Err(e) => {
                eprintln!("--ttl: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
        }
    }
    let principal = match Principal::new(sub, Map::new()) {
        Ok(p) => p,
        Err(why) => {
            eprintln!("--sub: {why}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let rooms = if rooms.is_empty() {
        let policy = match config::policy_from_lookup(&env_lookup) {
            Ok(policy) => policy,
            Err(errors) => {
                eprintln!("--rooms not given and the policy cannot be read:");
                return report_config_errors(&errors);
            }
        };
        policy.grants(&principal)
    } else {
        rooms
    };
    if rooms.is_empty() {
        eprintln!("--rooms: no rooms to grant; pass e.g. --rooms document-*");
        return ExitCode::from(EXIT_CONFIG);
    }
    if let Some(e) = rooms.iter().find_map(|r| validate_room_pattern(r).err()) {
        eprintln!("--rooms: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    match issuer.issue(&principal.sub, rooms) {
        Ok(issued) if json => {
            println!("{}", serde_json::to_string(&issued).expect("serializable"));
            ExitCode::SUCCESS
        }
        Ok(issued) => {
            println!("{}", issued.token);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn verify(token: Option<String>) -> ExitCode {
    config::load_dotenv();
    let jwt = match config::jwt_from_lookup(&env_lookup) {
        Ok(jwt) => jwt,
        Err(errors) => return report_config_errors(&errors),
    };
    let token = match token.filter(|t| t != "-") {
        Some(t) => t,
        None => {
            let mut buf = String::new();
            if std::io::stdin().read_to_string(&mut buf).is_err() {
                eprintln!("could not read the token from standard input");
                return ExitCode::FAILURE;
            }
            buf
        }
    };
    match TokenVerifier::new(&jwt).verify(token.trim()) {
        Ok(claims) => {
            let pretty = serde_json::to_string_pretty(&claims).expect("serializable");
            println!("{pretty}");
            let left = claims.exp.saturating_sub(unix_now());
            eprintln!("valid: HS256 signature matches; expires in {left} s");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("invalid token: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check_config() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(errors) => return report_config_errors(&errors),
    };
    println!("{}", describe(&config));
    for warning in config.warnings() {
        println!("warning: {warning}");
    }
    match self_check(&config) {
        Ok(()) => {
            println!("self-check: minted and verified a token with these settings");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("self-check failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The effective configuration as `key: value` lines, secrets redacted.
pub fn describe(config: &Config) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
    let lines = [
        format!("listen: {}:{}", config.server.host, config.server.port),
        format!(
            "workers: {}",
            config
                .server
                .workers
                .map_or("one per core".into(), |w| w.to_string())
        ),
        format!(
            "jwt keys: {} (the first signs)",
            config
                .jwt
                .keys
                .iter()
                .map(|k| format!(
                    "{} [redacted, {} bytes]",
                    k.kid.as_deref().unwrap_or("(no kid)"),
                    k.secret.expose().len()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("jwt leeway: {} s", config.jwt.leeway.as_secs()),
        format!("jwt issuer: {}", opt(&config.jwt.issuer)),
        format!("jwt audience: {}", opt(&config.jwt.audience)),
        format!("token ttl: {} s", config.jwt.ttl.as_secs()),
        format!("rooms: {}", config.policy.describe()),
        format!(
            "session backend: {}",
            describe_backend(&config.session.backend)
        ),
        format!(
            "session cookie: {}{}",
            config.session.cookie_name,
            match config.session.backend {
                SessionBackend::Upstream { .. } => " (the whole Cookie header is forwarded)",
                SessionBackend::SignedCookie => " (signed)",
                _ if config.session.cookie_signed => " (signed session id)",
                _ => " (unsigned session id)",
            }
        ),
        format!(
            "session secrets: [redacted, {}]",
            config.session.secrets.len()
        ),
        format!("session subject: {}", config.session.subject_pointer),
        format!(
            "session attributes: {}",
            config
                .session
                .attribute_pointers
                .iter()
                .map(|(n, p)| format!("{n}={p}"))
                .collect::<Vec<_>>()
                .join(",")
        ),
        format!(
            "session lookup timeout: {:?}",
            config.session.lookup_timeout
        ),
        format!(
            "session cache: {}",
            if config.session.cache_ttl.is_zero() {
                "off".to_owned()
            } else {
                format!(
                    "{:?}, at most {} sessions",
                    config.session.cache_ttl, config.session.cache_size
                )
            }
        ),
        format!(
            "allowed origins: {}",
            if config.allowed_origins.is_empty() {
                "(none: only same-origin and non-browser callers)".into()
            } else {
                config.allowed_origins.join(", ")
            }
        ),
        format!(
            "admin minting: {}",
            if config.admin_api_key.is_some() {
                "on"
            } else {
                "off"
            }
        ),
    ];
    lines.join("\n")
}

/// The backend with its location; URLs show only scheme, host and port.
fn describe_backend(backend: &SessionBackend) -> String {
    let location = |url: &str| {
        reqwest::Url::parse(url)
            .map(|u| {
                format!(
                    "{}://{}:{}",
                    u.scheme(),
                    u.host_str().unwrap_or("?"),
                    u.port_or_known_default().unwrap_or(0)
                )
            })
            .unwrap_or_else(|_| "(unparsable URL)".into())
    };
    match backend {
        SessionBackend::SignedCookie => "signed-cookie".into(),
        SessionBackend::Redis { url, prefix } => {
            format!("redis at {} (keys {prefix}<sid>)", location(url.expose()))
        }
        SessionBackend::Postgres { url, table } => {
            format!("postgres at {} (table {table})", location(url.expose()))
        }
        SessionBackend::Upstream {
            url,
            method,
            forward_headers,
        } => format!(
            "upstream {method} {} (forwarding Cookie{})",
            location(url.expose()),
            forward_headers
                .iter()
                .map(|h| format!(", {h}"))
                .collect::<String>()
        ),
    }
}

fn healthcheck(port: Option<u16>) -> ExitCode {
    let port = port
        .or_else(|| env_lookup("PORT").and_then(|p| p.trim().parse().ok()))
        .unwrap_or(8080);
    match probe(port) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("healthcheck: /healthz did not answer 200");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("healthcheck: {e}");
            ExitCode::FAILURE
        }
    }
}

fn probe(port: u16) -> std::io::Result<bool> {
    let timeout = Duration::from_secs(2);
    let addr = ("127.0.0.1", port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    Ok(head.starts_with(b"HTTP/1.") && &head[9..12] == b"200")
}

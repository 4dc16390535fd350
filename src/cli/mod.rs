//! The `realtime-token` command line: `serve` (default), `dev`, `mint`,
//! `verify`, `keygen`, `check-config`, `reference` and `healthcheck`.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::app::Application;
use crate::config::{Config, ConfigErrors, DevDefaults, Dotenv};
use crate::session::{codec::CookieSigner, cookies::percent_encode};
use crate::telemetry::{flush_logs, init_logging};
use crate::token::{TokenIssuer, TokenVerifier};

mod describe;
mod keys;
mod reference;
mod tokens;

pub use describe::describe;

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
        /// Print `{"token", "expiresAt", "expiresIn", "rooms"}` instead of the bare token.
        #[arg(long)]
        json: bool,
    },
    /// Check a token's signature, expiry, issuer and audience; print its claims.
    Verify {
        /// The token; read from standard input when omitted or `-`.
        token: Option<String>,
        /// Verify with the public keys of this JWKS (a file, or an http(s)
        /// URL such as https://tokens.example.com/.well-known/jwks.json)
        /// instead of the configured keys; the algorithm is JWT_ALGORITHM's
        /// (ES256 or EdDSA), and JWT_ISSUER, JWT_AUDIENCE, JWT_LEEWAY apply.
        #[arg(long, value_name = "FILE|URL")]
        jwks: Option<String>,
    },
    /// Print a new ES256 or EdDSA signing key (PKCS#8 PEM) for JWT_PRIVATE_KEY_FILE.
    Keygen {
        /// ES256 (P-256) or EdDSA (Ed25519).
        #[arg(long)]
        alg: String,
        /// Write the key to this new file (mode 600, never over an existing
        /// file) instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Print the effective configuration (secrets redacted); non-zero exit on any error.
    CheckConfig,
    /// Print the configuration reference in Markdown: every variable, its
    /// default, whether it is secret, who reads it and what it means.
    Reference,
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
        } => tokens::mint(&sub, rooms, ttl.as_deref(), json),
        Command::Verify { token, jwks } => tokens::verify(token, jwks.as_deref()),
        Command::Keygen { alg, out } => keys::keygen(&alg, out.as_deref()),
        Command::CheckConfig => describe::check_config(),
        Command::Reference => reference::print(),
        Command::Healthcheck { port } => healthcheck(port),
    }
}

fn env_lookup(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

fn report_config_errors(errors: &ConfigErrors) -> ExitCode {
    report_errors(errors, |_| None)
}

/// Prints every error; `about` may add what a variable means under its
/// first error.
fn report_errors(errors: &ConfigErrors, about: impl Fn(&str) -> Option<String>) -> ExitCode {
    eprintln!("realtime-token: invalid configuration:");
    let (mut told, mut explained) = (Vec::new(), false);
    for e in &errors.0 {
        eprintln!("  {e}");
        if !told.contains(&e.var) {
            told.push(e.var);
            if let Some(about) = about(e.var) {
                eprintln!("    ({}: {about})", e.var);
                explained = true;
            }
        }
    }
    if explained {
        eprintln!("(every setting, its default and who reads it: `realtime-token reference`)");
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
    log::info!("token signing: {}", config.jwt.describe_signing());
    let result = actix_web::rt::System::new().block_on(async {
        let app = Application::start(config).await?;
        log::info!(
            "listening on {}:{} (session backend {}, rooms {}{}, {} allowed origin(s), admin minting {})",
            config.server.host,
            app.port(),
            config.session.preset.name,
            config.policy.describe(),
            config.rooms.source.var().map(|var| format!(" ∪ {var}")).unwrap_or_default(),
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
        // A room source whose configuration cannot work (start-up check).
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            eprintln!("realtime-token: invalid configuration:\n  {e}");
            ExitCode::from(EXIT_CONFIG)
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
    let dotenv = Dotenv::load();
    let defaults = DevDefaults::generate(&env_lookup, host.as_deref());
    let config = match dotenv.read(|lookup| defaults.config(lookup)) {
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
    let signing = config.jwt.algorithm();
    run(&config, |port| {
        println!();
        println!("realtime-token dev mode is up. Get a token for user `dev-user`:");
        println!();
        println!(
            "  curl -sS -X POST http://{host}:{port}/api/realtime-token -H 'Cookie: {cookie}'"
        );
        println!();
        match signing.is_asymmetric() {
            true => println!(
                "Tokens are signed with {signing}; verifiers read the public keys at http://{host}:{port}/.well-known/jwks.json"
            ),
            false => println!(
                "Tokens are signed with HS256: the realtime server verifies them with the same JWT secret"
            ),
        }
        println!();
        let _ = std::io::stdout().flush();
    })
}

fn healthcheck(port: Option<u16>) -> ExitCode {
    // The same sources as `serve`: the environment, then `.env`.
    Dotenv::load();
    let port = port
        .or_else(|| env_lookup("PORT").and_then(|p| p.trim().parse().ok()))
        .unwrap_or(8080);
    let host = env_lookup("HOST").map(|h| h.trim().to_owned());
    match probe(host.as_deref(), port) {
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

/// `GET /healthz` on `host:port`; a wildcard or unset host is probed on
/// loopback.
fn probe(host: Option<&str>, port: u16) -> std::io::Result<bool> {
    let host = match host {
        None | Some("") | Some("0.0.0.0") => "127.0.0.1",
        Some("::") | Some("[::]") => "::1",
        Some(h) => h,
    };
    let timeout = Duration::from_secs(2);
    let addr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{host} has no address")))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    Ok(head.starts_with(b"HTTP/1.") && &head[9..12] == b"200")
}

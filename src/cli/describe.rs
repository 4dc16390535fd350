//! `check-config`: the effective settings, secrets redacted.

use std::process::ExitCode;

use super::{report_errors, self_check};
use crate::config::reference::row;
use crate::config::{Config, SecretRole, StoreSettings};
use crate::env_var::Shown;
use crate::metrics::RoomMetrics;
use crate::redis_conn::Topology;
use crate::rooms::{CookieForward, Rooms, RoomsSettings, SourceCheck, SourceSettings};
use crate::session::preset::{CookieKind, StoreKind};
use crate::session::store::PgPools;
use crate::session::SessionConfig;
use crate::token::Signing;

pub(super) fn check_config() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(errors) => return report_errors(&errors, about),
    };
    println!("{}", describe(&config));
    for warning in config.warnings() {
        println!("warning: {warning}");
    }
    let rooms = check_room_source(&config);
    match self_check(&config) {
        Ok(()) if rooms => {
            println!("self-check: minted and verified a token with these settings");
            ExitCode::SUCCESS
        }
        Ok(()) => ExitCode::FAILURE,
        Err(e) => {
            println!("self-check failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What `var` means, as the reference says, for an error about it.
fn about(var: &str) -> Option<String> {
    row(var).map(|row| row.meaning.to_owned())
}

/// Checks the room source as `serve` does before it listens, printing the
/// verdict; false when `serve` would refuse to start.
fn check_room_source(config: &Config) -> bool {
    if config.rooms.source.var().is_none() {
        return true;
    }
    let checked = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SourceCheck::Unreachable(format!("cannot start a runtime: {e}")))
        .and_then(|runtime| {
            let rooms = Rooms::new(
                config.policy.clone(),
                &config.rooms,
                &PgPools::default(),
                RoomMetrics::detached(),
            )
            .map_err(SourceCheck::Invalid)?;
            runtime.block_on(rooms.check_source())
        });
    match checked {
        Ok(()) => println!("room source: checked, it answers"),
        Err(SourceCheck::Unreachable(why)) => {
            println!("warning: the room source does not answer ({why}); serve would start and answer 503 until it does")
        }
        Err(SourceCheck::Invalid(why)) => {
            println!("room source: {why}");
            return false;
        }
    }
    true
}

/// The effective configuration as `key: value` lines, secrets redacted;
/// session settings the backend does not use are left out.
pub fn describe(config: &Config) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
    let session = &config.session;
    let mut lines = vec![
        format!("listen: {}:{}", config.server.host, config.server.port),
        format!(
            "workers: {}",
            config
                .server
                .workers
                .map_or("one per core".into(), |w| w.to_string())
        ),
        format!("token signing: {}", config.jwt.describe_signing()),
        describe_keys(&config.jwt.signing),
        format!("jwt leeway: {} s", config.jwt.leeway.as_secs()),
        format!("jwt issuer: {}", opt(&config.jwt.issuer)),
        format!("jwt audience: {}", opt(&config.jwt.audience)),
        format!("token ttl: {} s", config.jwt.ttl.as_secs()),
        format!("rooms: {}", config.policy.describe()),
        format!("room source: {}", describe_room_source(&config.rooms)),
        format!(
            "session backend: {}",
            describe_backend(session.preset.name, &session.store)
        ),
        format!(
            "session cookie: {} ({})",
            session.cookie_name,
            cookie_holds(session)
        ),
    ];
    if session.preset.secret.used(session.cookie_signed) {
        let from = match session.secrets_var {
            "SESSION_SECRET" => String::new(),
            fallback => format!(" (from {fallback})"),
        };
        lines.push(format!(
            "session secrets: [redacted, {}]{from}",
            session.secrets.len()
        ));
    }
    lines.push(format!("session subject: {}", session.subject_pointer));
    lines.push(format!(
        "session attributes: {}",
        match session.attribute_pointers.is_empty() {
            true => "(none)".to_owned(),
            false => session
                .attribute_pointers
                .iter()
                .map(|(n, p)| format!("{n}={p}"))
                .collect::<Vec<_>>()
                .join(","),
        }
    ));
    if let Some(max_age) = session.max_age {
        lines.push(format!("session max age: {} s", max_age.as_secs()));
    }
    lines.push(format!("session options: {}", describe_options(session)));
    let looks_up = session.store != StoreSettings::None;
    let fetches = session
        .options
        .keys()
        .any(|var| shown(session, var) == Shown::Url);
    if looks_up || fetches {
        lines.push(format!(
            "session lookup timeout: {:?}",
            session.lookup_timeout
        ));
    }
    if looks_up {
        lines.push(format!(
            "session cache: {}",
            if session.cache_ttl.is_zero() {
                "off".to_owned()
            } else {
                format!(
                    "{:?}, at most {} sessions",
                    session.cache_ttl, session.cache_size
                )
            }
        ));
    }
    lines.push(format!(
        "allowed origins: {}",
        if config.allowed_origins.is_empty() {
            "(none: only same-origin and non-browser callers)".into()
        } else {
            config.allowed_origins.join(", ")
        }
    ));
    lines.push(format!(
        "admin minting: {}",
        if config.admin_api_key.is_some() {
            "on"
        } else {
            "off"
        }
    ));
    lines.join("\n")
}

/// The signing keys: HS256 secrets redacted, public keys by `kid`.
fn describe_keys(signing: &Signing) -> String {
    match signing {
        Signing::Hmac(keys) => format!(
            "jwt keys: {} (the first signs)",
            keys.iter()
                .map(|k| format!(
                    "{} [redacted, {} bytes]",
                    k.kid.as_deref().unwrap_or("(no kid)"),
                    k.secret.expose().len()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Signing::Asymmetric(set) => format!(
            "jwks keys: {} (the first signs)",
            set.public_keys()
                .map(|k| format!("{} ({})", k.kid(), k.alg()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The room source, where it is (never a password) and its bounds.
fn describe_room_source(rooms: &RoomsSettings) -> String {
    let source = match &rooms.source {
        SourceSettings::None => return "(none: the env policy alone)".into(),
        SourceSettings::Query(q) => format!(
            "ROOMS_QUERY on postgres at {} ({}; sslmode {:?})",
            location(q.database.url.expose(), true),
            q.database_var,
            q.database.ssl_mode
        ),
        SourceSettings::RedisSet(set) => format!(
            "ROOMS_REDIS_KEY sets `{}` on {}",
            set.key.source(),
            match &set.topology {
                Topology::Single => format!("redis at {}", location(set.url.expose(), true)),
                Topology::Sentinel { master, .. } => format!("the primary of `{master}`"),
                Topology::Cluster { nodes } => format!("the cluster of {}", nodes.join(", ")),
            }
        ),
        SourceSettings::Url(url) => format!(
            "ROOMS_URL POST {} (forwarding {})",
            location(url.url.expose(), false),
            match &url.cookies {
                CookieForward::All => "the whole Cookie header".to_owned(),
                CookieForward::Named(names) => format!("the cookies {}", names.join(", ")),
            }
        ),
    };
    format!(
        "{source}; timeout {:?}, at most {} rooms unrequested, cache {}",
        rooms.timeout,
        rooms.max,
        match rooms.cache_ttl.is_zero() {
            true => "off".to_owned(),
            false => format!(
                "{:?}, at most {} answers",
                rooms.cache_ttl, rooms.cache_size
            ),
        }
    )
}

/// What the session cookie holds, and how it is protected.
fn cookie_holds(session: &SessionConfig) -> &'static str {
    let kind = session.store_kind();
    if kind == StoreKind::Upstream {
        return "the whole Cookie header is forwarded";
    }
    if !kind.keeps_sessions() {
        return match session.preset.cookie_kind {
            CookieKind::Encrypted => "encrypted",
            CookieKind::IssuerJwt => "a JWT signed by its issuer's key",
            CookieKind::Signed | CookieKind::SignedSessionToken => "signed",
        };
    }
    match session.preset.cookie_kind {
        CookieKind::SignedSessionToken => "signed session token",
        _ if session.preset.secret == SecretRole::SignsSessionId && session.cookie_signed => {
            "signed session id"
        }
        _ => "unsigned session id",
    }
}

/// How `var`, one of the backend's own variables, may be shown, as its
/// reference row says; an unknown one is redacted.
fn shown(session: &SessionConfig, var: &str) -> Shown {
    session
        .preset
        .own_vars()
        .find(|o| o.name == var)
        .map_or(Shown::Redacted, |o| o.shown)
}

/// The backend's own variables that are set: values, URLs without their
/// credentials, and secrets redacted.
fn describe_options(session: &SessionConfig) -> String {
    if session.options.is_empty() {
        return "(none)".into();
    }
    session
        .options
        .iter()
        .map(|(var, value)| match shown(session, var) {
            Shown::Value => format!("{var}={}", value.expose()),
            Shown::Url => format!("{var}={}", location(value.expose(), true)),
            Shown::Redacted => format!("{var} [set, redacted]"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A URL as `scheme://host:port`, and its path when `with_path`: never its
/// user, password, query or fragment.
fn location(url: &str, with_path: bool) -> String {
    reqwest::Url::parse(url)
        .map(|u| {
            format!(
                "{}://{}:{}{}",
                u.scheme(),
                u.host_str().unwrap_or("?"),
                u.port_or_known_default().unwrap_or(0),
                match u.path() {
                    "" | "/" => "",
                    path if with_path => path,
                    _ => "",
                }
            )
        })
        .unwrap_or_else(|_| "(unparsable URL)".into())
}

/// The backend with its store's location: scheme, host, port and the
/// database (never the password); the upstream's URL without its path.
fn describe_backend(name: &str, store: &StoreSettings) -> String {
    match store {
        StoreSettings::None => name.into(),
        StoreSettings::Redis {
            url,
            prefix,
            ca_pem,
            topology,
        } => format!(
            "{name}: redis at {} (keys {prefix}<sid>{})",
            match topology {
                Topology::Sentinel { nodes, master } => {
                    format!(
                        "the primary of `{master}` per sentinels {}",
                        nodes.join(", ")
                    )
                }
                Topology::Cluster { nodes } => format!("the cluster of {}", nodes.join(", ")),
                Topology::Single => location(url.expose(), true),
            },
            match (url.expose().starts_with("rediss://"), ca_pem) {
                (false, _) => "",
                (true, _) if url.expose().ends_with("#insecure") => {
                    "; TLS WITHOUT certificate verification"
                }
                (true, Some(_)) => "; TLS, certificates from REDIS_CA_FILE",
                (true, None) => "; TLS, certificates from the system's roots",
            }
        ),
        StoreSettings::Postgres {
            url,
            table,
            ssl_mode,
            root_pem,
        } => format!(
            "{name}: postgres at {} (table {table}; sslmode {ssl_mode:?}{})",
            location(url.expose(), true),
            match root_pem {
                Some(_) => ", sslrootcert",
                None => "",
            }
        ),
        StoreSettings::Upstream {
            url,
            method,
            forward_headers,
            session_cookies,
        } => format!(
            "{name}: {method} {} (forwarding Cookie{}; sessions identified by {})",
            location(url.expose(), false),
            forward_headers
                .iter()
                .map(|h| format!(", {h}"))
                .collect::<String>(),
            match session_cookies.is_empty() {
                true => "the whole Cookie header".to_owned(),
                false => session_cookies.join(", "),
            }
        ),
    }
}

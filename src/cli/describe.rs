//! `check-config`: the effective settings, secrets redacted.

use std::process::ExitCode;

use super::{report_config_errors, self_check};
use crate::config::{Config, SecretRole, StoreSettings};
use crate::redis_conn::Topology;

pub(super) fn check_config() -> ExitCode {
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
            describe_backend(config.session.preset.name, &config.session.store)
        ),
        format!(
            "session cookie: {}{}",
            config.session.cookie_name,
            match (&config.session.store, config.session.preset.secret) {
                (StoreSettings::Upstream { .. }, _) => " (the whole Cookie header is forwarded)",
                (_, SecretRole::VouchesAlone | SecretRole::VouchesAloneWarned) => " (signed)",
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
            "session max age: {}",
            config
                .session
                .max_age
                .map_or("(not used by this backend)".into(), |d| format!(
                    "{} s",
                    d.as_secs()
                ))
        ),
        format!(
            "session options: {}",
            match config.session.options.is_empty() {
                true => "(none)".to_owned(),
                false => config
                    .session
                    .options
                    .keys()
                    .map(|var| format!("{var} [set, redacted]"))
                    .collect::<Vec<_>>()
                    .join(", "),
            }
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

/// The backend with its store's location; URLs show only scheme, host and
/// port.
fn describe_backend(name: &str, store: &StoreSettings) -> String {
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
                Topology::Single => location(url.expose()),
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
            location(url.expose()),
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
            location(url.expose()),
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

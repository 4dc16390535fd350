//! Server, room policy, origins, rate limits and operations settings.

use std::time::Duration;

use super::jwt::parse_duration;
use super::store::{read_ca_file, read_topology};
use super::strength;
use super::vars::Vars;
use super::{OpsConfig, ServerConfig};
use crate::policy::RoomPolicy;
use crate::ratelimit::{
    parse_ipv6_prefix, parse_trusted_proxies, LimitStore, LimitsConfig, ProxyHeader, Rate,
    DEFAULT_IPV6_PREFIX,
};
use crate::redis_conn::Topology;
use crate::secret::Secret;
use crate::telemetry::LogFormat;

pub(super) fn read_server(vars: &mut Vars) -> ServerConfig {
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

/// The env room policy; it may be empty when a room source (`source`)
/// grants rooms instead.
pub(super) fn read_policy(vars: &mut Vars, source: bool) -> Option<RoomPolicy> {
    let defaults = vars.get("REALTIME_ROOMS").unwrap_or_default();
    let roles = vars.get("REALTIME_ROLE_ROOMS").unwrap_or_default();
    let role_attr = vars
        .get("REALTIME_ROLE_ATTRIBUTE")
        .unwrap_or_else(|| "roles".into());
    if defaults.is_empty() && roles.is_empty() && !source {
        vars.fail(
            "REALTIME_ROOMS",
            "no room grants configured, so every request would be refused; set e.g. REALTIME_ROOMS=document-*,user-{sub} \
             (or a room source such as ROOMS_QUERY)",
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

pub(super) fn read_duration(
    vars: &mut Vars,
    var: &'static str,
    default: Duration,
    max: Duration,
) -> Duration {
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

pub(super) fn read_origins(vars: &mut Vars) -> Vec<String> {
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

pub(super) fn check_origin(origin: &str) -> Result<(), String> {
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

pub(super) fn read_limits(vars: &mut Vars) -> LimitsConfig {
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
    let store = read_limit_store(vars);
    LimitsConfig {
        per_client,
        per_subject,
        trusted_proxies,
        proxy_header,
        ipv6_prefix,
        store,
    }
}

pub(super) fn read_ops(vars: &mut Vars) -> OpsConfig {
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
    let shutdown_grace = match vars.get("SHUTDOWN_GRACE").as_deref() {
        None | Some("0") | Some("off") => Duration::ZERO,
        Some(_) => read_duration(
            vars,
            "SHUTDOWN_GRACE",
            Duration::ZERO,
            Duration::from_secs(300),
        ),
    };
    OpsConfig {
        log_format,
        metrics,
        metrics_addr,
        shutdown_timeout,
        shutdown_grace,
    }
}

/// `RATE_LIMIT_STORE`: `memory` (default) or `redis`, at
/// `RATE_LIMIT_REDIS_URL` or else `REDIS_URL`.
fn read_limit_store(vars: &mut Vars) -> LimitStore {
    match vars.get("RATE_LIMIT_STORE").as_deref() {
        None | Some("memory") => LimitStore::Memory,
        Some("redis") => {
            let own = vars.get("RATE_LIMIT_REDIS_URL");
            let topology = match own {
                Some(_) => Topology::Single,
                None => read_topology(vars),
            };
            if topology != Topology::Single && vars.get("REDIS_URL").is_none() {
                return LimitStore::Redis {
                    url: Secret::new("redis://nodes-from-the-topology"),
                    ca_pem: None,
                    topology,
                };
            }
            let (var, url) = match own {
                Some(url) => ("RATE_LIMIT_REDIS_URL", url),
                None => match vars.get("REDIS_URL") {
                    Some(url) => ("REDIS_URL", url),
                    None => {
                        vars.fail(
                            "RATE_LIMIT_REDIS_URL",
                            "not set, nor REDIS_URL; RATE_LIMIT_STORE=redis needs one, e.g. RATE_LIMIT_REDIS_URL=redis://127.0.0.1:6379",
                        );
                        return LimitStore::Memory;
                    }
                },
            };
            if !url.starts_with("redis://") && !url.starts_with("rediss://") {
                vars.fail(var, "must start with redis:// or rediss://");
                return LimitStore::Memory;
            }
            let ca_pem = read_ca_file(vars, "REDIS_CA_FILE");
            LimitStore::Redis {
                url: Secret::new(url),
                ca_pem,
                topology,
            }
        }
        Some(other) => {
            vars.fail(
                "RATE_LIMIT_STORE",
                format!(
                    "`{other}` is not memory or redis (redis shares the buckets across replicas)"
                ),
            );
            LimitStore::Memory
        }
    }
}

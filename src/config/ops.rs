//! Server, room policy, origins and operations settings.

use std::time::Duration;

use super::strength;
use super::vars::{read_duration, Vars};
use super::{OpsConfig, ServerConfig};
use crate::env_var::EnvVar;
use crate::policy::RoomPolicy;
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

/// The server's rows of the reference.
pub(super) const SERVER_VARS: &[EnvVar] = &[
    EnvVar::plain(
        "HOST",
        "Bind address; `dev` binds `127.0.0.1` whatever this says (unless `dev --host`).",
    )
    .defaults_to("`0.0.0.0`")
    .read_by("`serve`, `healthcheck`"),
    EnvVar::plain("PORT", "Bind port; `0` picks a free one.")
        .defaults_to("`8080`")
        .read_by("`serve`, `healthcheck`"),
    EnvVar::plain("WORKERS", "Worker threads, 1 to 1024.")
        .defaults_to("one per CPU core")
        .read_by("`serve`"),
];

/// The room policy's rows of the reference.
pub(super) const POLICY_VARS: &[EnvVar] = &[
    EnvVar::plain(
        "REALTIME_ROOMS",
        "Grants for every authenticated user: comma-separated patterns and templates (`{sub}`, \
         `{<attribute>}`), e.g. `document-*,user-{sub}`.",
    )
    .defaults_to("required (unless `REALTIME_ROLE_ROOMS` grants something)")
    .read_by(POLICY),
    EnvVar::plain(
        "REALTIME_ROLE_ROOMS",
        "Grants by role: `role=templates`, separated by `;`, e.g. `admin=*;editor=drafts-*,org-{org}-*`.",
    )
    .read_by(POLICY),
    EnvVar::plain(
        "REALTIME_ROLE_ATTRIBUTE",
        "The session attribute holding the role(s): a string or an array of strings.",
    )
    .defaults_to("`roles`")
    .read_by(POLICY),
];

/// Who reads the room policy.
const POLICY: &str = "room policy, `mint`";

/// `ALLOWED_ORIGINS`' row of the reference.
pub(super) const ORIGINS_VAR: EnvVar = EnvVar::plain(
    "ALLOWED_ORIGINS",
    "Exact origins (`https://app.example.com`), comma-separated, allowed to call with credentials \
     (CORS); a cross-site call from any other origin gets 403.",
)
.defaults_to("none")
.read_by("origin guard");

/// The operations' rows of the reference.
pub(super) const OPS_VARS: &[EnvVar] = &[
    EnvVar::plain(
        "RUST_LOG",
        "Log level (`error`, `warn`, `info`, `debug`); `access=off` silences only the access log; \
         dependencies that print request data never log below `info`.",
    )
    .defaults_to("`info`")
    .read_by("logs"),
    EnvVar::plain(
        "LOG_FORMAT",
        "`text` or `json` (one object per line, for log shippers).",
    )
    .defaults_to("`text`")
    .read_by("logs"),
    EnvVar::plain(
        "METRICS",
        "`on` collects Prometheus metrics and serves `/metrics`; `off` does neither.",
    )
    .defaults_to("`on`")
    .read_by("metrics"),
    EnvVar::plain(
        "METRICS_ADDR",
        "Serve `/metrics` and `/openapi.yaml` on this `ip:port` instead of the main port.",
    )
    .read_by("metrics"),
    EnvVar::plain(
        "SHUTDOWN_GRACE",
        "After SIGTERM/SIGINT, keep serving this long with `/readyz` at 503 (up to `300s`), so \
         load balancers drain this replica first; `0`: off.",
    )
    .defaults_to("`0`")
    .read_by("shutdown"),
    EnvVar::plain(
        "SHUTDOWN_TIMEOUT",
        "Then stop accepting, and let in-flight requests finish for up to this long (up to `300s`).",
    )
    .defaults_to("`10s`")
    .read_by("shutdown"),
];

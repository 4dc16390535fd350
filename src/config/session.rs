//! Session settings: `SESSION_BACKEND` and everything its backend reads.

use std::time::Duration;

use super::ops::read_duration;
use super::strength;
use super::vars::Vars;
use crate::secret::Secret;
use crate::session::preset::{self, Preset, PRESETS};
use crate::session::{CookieValue, SessionBackend, SessionConfig};

pub(super) fn read_session(vars: &mut Vars) -> Option<SessionConfig> {
    let backend = read_backend(vars);
    let defaults: &Preset = backend
        .as_ref()
        .and_then(|b| preset::preset(b.name()))
        .unwrap_or(&PRESETS[0]);
    let is_upstream = matches!(backend, Some(SessionBackend::Upstream { .. }));
    let cookie_name = vars
        .get("SESSION_COOKIE")
        .unwrap_or_else(|| defaults.cookie.into());
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
        None => defaults.signed,
        Some("true") => true,
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
    let subject_pointer = vars
        .get("SESSION_SUBJECT_POINTER")
        .unwrap_or_else(|| defaults.subject_pointer.into());
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
    let cache_ttl = match vars.get("SESSION_CACHE_TTL").as_deref() {
        Some("0") | Some("off") => Duration::ZERO,
        _ => read_duration(
            vars,
            "SESSION_CACHE_TTL",
            defaults.cache_ttl,
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

pub(super) fn read_backend(vars: &mut Vars) -> Option<SessionBackend> {
    let hint = format!("use {}", preset::names());
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

pub(super) fn required_url(
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

pub(super) fn read_attribute_pointers(vars: &mut Vars) -> Vec<(String, String)> {
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

pub(super) fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

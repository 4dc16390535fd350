//! Store settings: where a preset's sessions are kept (`REDIS_URL`,
//! `DATABASE_URL`, `SESSION_UPSTREAM_*`), read for the store its preset names.

use super::vars::{read_cookie_names, Vars};
use crate::redis_conn::Topology;
use crate::secret::Secret;
use crate::session::preset::StoreKind;
use crate::session::store::{is_table_name, SslMode};
use crate::session::StoreSettings;

/// The settings of the store a preset reads; `default_table` is the
/// preset's `SESSION_PG_TABLE`.
pub(super) fn read_store(
    vars: &mut Vars,
    kind: StoreKind,
    default_table: &str,
) -> Option<StoreSettings> {
    match kind {
        StoreKind::None => Some(StoreSettings::None),
        StoreKind::Redis => {
            let (url, ca_pem, topology) = read_redis(vars)?;
            let prefix = vars
                .get("SESSION_REDIS_PREFIX")
                .unwrap_or_else(|| "sess:".into());
            Some(StoreSettings::Redis {
                url,
                prefix,
                ca_pem,
                topology,
            })
        }
        StoreKind::OptionalPostgres if vars.get("DATABASE_URL").is_none() => {
            Some(StoreSettings::None)
        }
        StoreKind::Postgres | StoreKind::OptionalPostgres => {
            let url = required_url(
                vars,
                "DATABASE_URL",
                &["postgres://", "postgresql://"],
                "postgres://user:password@127.0.0.1:5432/app",
            )?;
            let (url, ssl_mode, root_pem) = read_pg_tls(vars, "DATABASE_URL", &url)?;
            let table = vars
                .get("SESSION_PG_TABLE")
                .unwrap_or_else(|| default_table.into());
            if !is_table_name(&table) {
                vars.fail(
                    "SESSION_PG_TABLE",
                    format!("`{table}` is not a table name; use letters, digits, `_`, optionally `schema.table`"),
                );
                return None;
            }
            Some(StoreSettings::Postgres {
                url,
                table,
                ssl_mode,
                root_pem,
            })
        }
        StoreKind::Upstream => {
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
            let session_cookies =
                read_cookie_names(vars, "SESSION_UPSTREAM_COOKIES", "connect.sid");
            Some(StoreSettings::Upstream {
                url,
                method,
                forward_headers,
                session_cookies,
            })
        }
    }
}

/// The service's Redis: `REDIS_URL`, `REDIS_CA_FILE` and the topology
/// (`REDIS_SENTINELS`, `REDIS_CLUSTER`), for the session store and the
/// room source.
pub(super) fn read_redis(vars: &mut Vars) -> Option<(Secret, Option<Vec<u8>>, Topology)> {
    let topology = read_topology(vars);
    // With Sentinel or Cluster, REDIS_URL only brings the credentials
    // and TLS (with Sentinel, its host is the name the primary's
    // certificate must carry).
    let url = match (&topology, vars.get("REDIS_URL")) {
        (Topology::Sentinel { .. } | Topology::Cluster { .. }, None) => {
            Secret::new("redis://nodes-from-the-topology")
        }
        _ => required_url(
            vars,
            "REDIS_URL",
            &["redis://", "rediss://"],
            "redis://127.0.0.1:6379",
        )?,
    };
    let ca_pem = read_ca_file(vars, "REDIS_CA_FILE");
    if ca_pem.is_some() && !url.expose().starts_with("rediss://") {
        vars.fail(
            "REDIS_CA_FILE",
            match topology {
                Topology::Cluster { .. } => {
                    "is set but REDIS_URL is not rediss://; with REDIS_CLUSTER, \
                     REDIS_URL=rediss://[:password@]cluster speaks TLS to every node"
                }
                _ => "is set but REDIS_URL is not rediss://; use rediss:// to speak TLS to Redis",
            },
        );
    }
    Some((url, ca_pem, topology))
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

/// The PEM certificates in the file `var` names, if set: read and checked
/// now, so a wrong path or a file without a certificate stops the start.
pub(super) fn read_ca_file(vars: &mut Vars, var: &'static str) -> Option<Vec<u8>> {
    let path = vars.get(var)?;
    let pem = match std::fs::read(&path) {
        Ok(pem) => pem,
        Err(e) => {
            vars.fail(
                var,
                format!("cannot read `{path}`: {e}; give the path of a PEM CA certificate"),
            );
            return None;
        }
    };
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        vars.fail(
            var,
            format!("`{path}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
        );
        return None;
    }
    Some(pem)
}

/// libpq's TLS parameters taken out of the URL in `var`: the URL left for
/// tokio-postgres (its `sslmode` one it knows), the mode, and the PEM of
/// `sslrootcert` (read and checked now).
pub(super) fn read_pg_tls(
    vars: &mut Vars,
    var: &'static str,
    url: &Secret,
) -> Option<(Secret, SslMode, Option<Vec<u8>>)> {
    let Ok(mut parsed) = reqwest::Url::parse(url.expose()) else {
        vars.fail(
            var,
            "is not a URL; e.g. postgres://user:password@host:5432/app?sslmode=verify-full",
        );
        return None;
    };
    let (mut mode, mut root_file) = (SslMode::Prefer, None);
    let mut kept = Vec::new();
    for (key, value) in parsed.query_pairs() {
        match &*key {
            "sslmode" => match SslMode::parse(&value) {
                Some(m) => mode = m,
                None => {
                    vars.fail(
                        var,
                        format!("sslmode=`{value}` is not disable, prefer, require, verify-ca or verify-full"),
                    );
                    return None;
                }
            },
            "sslrootcert" => root_file = Some(value.into_owned()),
            _ => kept.push((key.into_owned(), value.into_owned())),
        }
    }
    let root_pem = match root_file {
        None => None,
        Some(path) if path == "system" => None,
        Some(path) => match std::fs::read(&path) {
            Ok(pem) if String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") => {
                Some(pem)
            }
            Ok(_) => {
                vars.fail(
                    var,
                    format!("sslrootcert `{path}` holds no PEM certificate"),
                );
                return None;
            }
            Err(e) => {
                vars.fail(var, format!("cannot read sslrootcert `{path}`: {e}"));
                return None;
            }
        },
    };
    kept.push(("sslmode".into(), mode.for_tokio_postgres().into()));
    parsed.query_pairs_mut().clear().extend_pairs(kept);
    // The form encoding writes a space as `+`, which tokio-postgres reads
    // as a `+` (`options=-c search_path=app` would reach the server as
    // `-c+search_path=app`); a `+` in a value is `%2B` by then.
    let query = parsed.query().map(|q| q.replace('+', "%20"));
    parsed.set_query(query.as_deref());
    Some((Secret::new(parsed.to_string()), mode, root_pem))
}

/// `REDIS_SENTINELS` (`host:port`, comma-separated) with
/// `REDIS_SENTINEL_MASTER` (the group's name), or `REDIS_CLUSTER` (nodes,
/// `host:port`); at most one of the two.
pub(super) fn read_topology(vars: &mut Vars) -> Topology {
    let sentinels = vars.get("REDIS_SENTINELS");
    let master = vars.get("REDIS_SENTINEL_MASTER");
    let cluster = vars.get("REDIS_CLUSTER");
    let example = "e.g. 10.0.0.5:26379,10.0.0.6:26379";
    if let Some(nodes) = cluster {
        if sentinels.is_some() || master.is_some() {
            vars.fail(
                "REDIS_CLUSTER",
                "set together with REDIS_SENTINELS; use one of them",
            );
            return Topology::Single;
        }
        return host_ports(
            vars,
            "REDIS_CLUSTER",
            &nodes,
            "e.g. 10.0.0.5:6379,10.0.0.6:6379",
        )
        .map_or(Topology::Single, |nodes| Topology::Cluster { nodes });
    }
    match (sentinels, master) {
        (None, None) => Topology::Single,
        (Some(_), None) => {
            vars.fail(
                "REDIS_SENTINEL_MASTER",
                "not set; with REDIS_SENTINELS name the group, e.g. REDIS_SENTINEL_MASTER=mymaster",
            );
            Topology::Single
        }
        (None, Some(_)) => {
            vars.fail(
                "REDIS_SENTINELS",
                format!("not set; with REDIS_SENTINEL_MASTER list the sentinels, {example}"),
            );
            Topology::Single
        }
        (Some(list), Some(master)) => {
            host_ports(vars, "REDIS_SENTINELS", &list, example).map_or(Topology::Single, |nodes| {
                Topology::Sentinel { nodes, master }
            })
        }
    }
}

/// A comma-separated `host:port` list, or `None` after recording why not.
fn host_ports(
    vars: &mut Vars,
    var: &'static str,
    list: &str,
    example: &str,
) -> Option<Vec<String>> {
    let nodes: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    let valid = |n: &String| {
        !n.contains("://")
            && !n.contains('@')
            && n.rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
    };
    match nodes.iter().find(|n| !valid(n)) {
        // Not echoed: it may hold a password.
        Some(bad) if bad.contains("://") || bad.contains('@') => vars.fail(
            var,
            format!("lists a URL, not host:port; a scheme (rediss://) or password goes in REDIS_URL; {example}"),
        ),
        Some(bad) => vars.fail(var, format!("`{bad}` is not host:port; {example}")),
        None if nodes.is_empty() => vars.fail(var, format!("lists no node; {example}")),
        None => return Some(nodes),
    }
    None
}

//! Rate limits and the proxies trusted to name the client.

use std::time::Duration;

use super::store::{read_ca_file, read_topology};
use super::vars::Vars;
use crate::address::{parse_ipv6_prefix, parse_trusted_proxies, ProxyHeader, DEFAULT_IPV6_PREFIX};
use crate::env_var::EnvVar;
use crate::ratelimit::{LimitStore, LimitsConfig, Rate};
use crate::redis_conn::Topology;
use crate::secret::Secret;

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

/// The rate limits' and proxies' rows of the reference.
pub(super) const LIMIT_VARS: &[EnvVar] = &[
    EnvVar::plain(
        "RATE_LIMIT_IP",
        "Token bucket per client address (`count/s`, `/m`, `/h`, or `off`), spent before any \
         lookup by requests without a valid session and by admin-key requests; with \
         `RATE_LIMIT_SUBJECT=off`, by every request.",
    )
    .defaults_to("`600/m`")
    .read_by(LIMITS),
    EnvVar::plain(
        "RATE_LIMIT_SUBJECT",
        "Token bucket per subject, spent by every request of a valid session instead of the \
         address bucket.",
    )
    .defaults_to("`60/m`")
    .read_by(LIMITS),
    EnvVar::plain(
        "RATE_LIMIT_STORE",
        "`memory` (buckets per process) or `redis` (shared by every replica; while Redis does not \
         answer, each replica's own buckets answer).",
    )
    .defaults_to("`memory`")
    .read_by(LIMITS),
    EnvVar::url(
        "RATE_LIMIT_REDIS_URL",
        "The Redis for `RATE_LIMIT_STORE=redis` (`redis://` or `rediss://`; `REDIS_CA_FILE` applies).",
    )
    .defaults_to("the value of `REDIS_URL`")
    .read_by("`RATE_LIMIT_STORE=redis`"),
    EnvVar::plain(
        "RATE_LIMIT_IPV6_PREFIX",
        "IPv6 clients share one `RATE_LIMIT_IP` bucket per prefix of this length (`32` to `128`; \
         `128`: per address).",
    )
    .defaults_from(|| format!("`{DEFAULT_IPV6_PREFIX}`"))
    .read_by(LIMITS),
    EnvVar::plain(
        "TRUSTED_PROXIES",
        "Proxies (addresses or CIDR ranges) whose `TRUSTED_PROXY_HEADER` names the client; \
         `0.0.0.0/0` and `::/0` are refused.",
    )
    .defaults_to("none: the socket's peer is the client")
    .read_by(PROXIES),
    EnvVar::plain(
        "TRUSTED_PROXY_HEADER",
        "The header family read from trusted proxies: `x-forwarded-for` (with `X-Forwarded-Host`) \
         or `forwarded` (RFC 7239 `for=` and `host=`); the other one is ignored.",
    )
    .defaults_to("`x-forwarded-for`")
    .read_by(PROXIES),
];

/// Who reads the limits.
const LIMITS: &str = "rate limits";
/// Who reads the proxy settings.
const PROXIES: &str = "client address, origin guard";

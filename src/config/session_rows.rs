//! The reference's rows for the session settings every backend shares and
//! for the stores, with the text they take from the presets (which
//! backends read a variable, a default that differs by backend): read from
//! [`PRESETS`], so a new backend shows up in every row it concerns.

use std::time::Duration;

use crate::env_var::EnvVar;
use crate::session::preset::{Preset, SecretRole, StoreKind, PRESETS};

/// The backends for which `reads` holds, in Markdown: `every backend`,
/// `every backend but ...`, or their names.
fn backends_where(reads: impl Fn(&Preset) -> bool) -> String {
    let (yes, no): (Vec<&Preset>, Vec<&Preset>) = PRESETS.iter().partition(|p| reads(p));
    match (yes.len(), no.len()) {
        (_, 0) => "every backend".into(),
        (y, n) if n < y && n <= 3 => format!("every backend but {}", names(&no)),
        _ => names(&yes),
    }
}

/// A default that differs by backend, in Markdown: each value with the
/// backends it is for (`value` is `None` where the backend does not read
/// the variable). The most common value comes first, bare when more than
/// half the backends reading the variable have it.
fn per_backend(value: impl Fn(&Preset) -> Option<String>) -> String {
    let mut groups: Vec<(String, Vec<&Preset>)> = Vec::new();
    for preset in PRESETS {
        let Some(value) = value(preset) else { continue };
        match groups.iter_mut().find(|(v, _)| *v == value) {
            Some((_, members)) => members.push(preset),
            None => groups.push((value, vec![preset])),
        }
    }
    let readers: usize = groups.iter().map(|(_, m)| m.len()).sum();
    // Stable: among equally common values, the first backend's first.
    groups.sort_by_key(|(_, members)| std::cmp::Reverse(members.len()));
    groups
        .iter()
        .enumerate()
        .map(
            |(i, (value, members))| match i == 0 && members.len() * 2 > readers {
                true => value.clone(),
                false => format!("{value} for {}", names(members)),
            },
        )
        .collect::<Vec<_>>()
        .join("; ")
}

/// The stores a backend may read: its own and its store choice's.
fn stores(preset: &Preset) -> impl Iterator<Item = StoreKind> + '_ {
    let choices = preset.store_choice.iter().flat_map(|c| c.choices);
    std::iter::once(preset.store).chain(choices.map(|(_, kind)| *kind))
}

/// True when a backend may read PostgreSQL.
fn reads_postgres(preset: &Preset) -> bool {
    stores(preset).any(|k| matches!(k, StoreKind::Postgres | StoreKind::OptionalPostgres))
}

/// A duration as the variables take it: `2s`, `14d`, `1h30m`.
fn duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0".into();
    }
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= len {
            out.push_str(&format!("{}{unit}", secs / len));
            secs %= len;
        }
    }
    out
}

/// `` `a`, `b` `` for these backends.
fn names(presets: &[&Preset]) -> String {
    presets
        .iter()
        .map(|p| format!("`{}`", p.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of the reference for the settings every backend shares; the
/// defaults that differ by backend are read from the presets.
pub(super) const SESSION_VARS: &[EnvVar] = &[
    EnvVar::plain(
        "SESSION_BACKEND",
        "Where sessions are checked: the backend that reads your framework's sessions, one of \
         those under \"read by\".",
    )
    .defaults_from(|| format!("`{}`", PRESETS[0].name))
    .read_by_from(|| {
        format!(
            "every backend: {}",
            names(&PRESETS.iter().collect::<Vec<_>>())
        )
    }),
    EnvVar::plain(
        "SESSION_COOKIE",
        "The session cookie's name (your app's); `upstream` forwards the whole `Cookie` header \
         instead.",
    )
    .defaults_from(|| {
        per_backend(|p| match (p.cookie, p.cookie_from) {
            _ if p.store == StoreKind::Upstream => None,
            (_, Some((var, _))) => Some(format!("derived from `{var}`")),
            ("", None) => Some("required".into()),
            (name, None) => Some(format!("`{name}`")),
        })
    })
    .read_by_from(|| backends_where(|p| p.store != StoreKind::Upstream)),
    EnvVar::secret(
        "SESSION_SECRET",
        "Your app's cookie-signing secret(s), comma-separated, newest first (rotation); \
         `iron-session`: its passwords, each `<id>=<password>` or bare (id `1`).",
    )
    .defaults_from(|| {
        per_backend(|p| match (p.secret, p.secret_fallback) {
            (SecretRole::Unused, _) => None,
            (SecretRole::SignsSessionId, _) => {
                Some("required while `SESSION_COOKIE_SIGNED`".into())
            }
            (_, Some(var)) => Some(format!("the value of `{var}`")),
            (_, None) => Some("required".into()),
        })
    })
    .read_by_from(|| backends_where(|p| p.secret != SecretRole::Unused)),
    EnvVar::plain(
        "SESSION_COOKIE_VALUE",
        "The signed value is the user id (`id`) or cookie-parser's `j:` JSON cookie (`json`); \
         never both.",
    )
    .defaults_to("`id`")
    .read_by("`signed-cookie`"),
    EnvVar::plain(
        "SESSION_COOKIE_SIGNED",
        "The cookie is express-session's signed `s:<sid>.<sig>` (`true`) or a bare session id \
         (`false`).",
    )
    .defaults_to("`true`")
    .read_by_from(|| backends_where(|p| p.secret == SecretRole::SignsSessionId)),
    EnvVar::plain(
        "SESSION_SUBJECT_POINTER",
        "JSON pointer to the user id (a string or an integer) in the session or the upstream's \
         answer, e.g. `/passport/user`.",
    )
    .defaults_from(|| per_backend(|p| Some(format!("`{}`", p.subject_pointer))))
    .read_by_from(|| backends_where(|_| true)),
    EnvVar::plain(
        "SESSION_ATTRIBUTES",
        "Session attributes for the room policy: `name=/json/pointer` pairs, e.g. \
         `org=/org,roles=/passport/roles`.",
    )
    .defaults_to("none")
    .read_by_from(|| backends_where(|_| true)),
    EnvVar::plain(
        "SESSION_LOOKUP_TIMEOUT",
        "Bound on one store or upstream lookup or JWKS fetch (up to `10s`); past it the answer \
         is 503.",
    )
    .defaults_to("`500ms`")
    .read_by("backends that look sessions up or fetch keys"),
    EnvVar::plain(
        "SESSION_CACHE_TTL",
        "Keep positive lookups this long (up to `300s`); `off` or `0` disables; a logout takes up \
         to this long to take effect.",
    )
    .defaults_from(|| {
        per_backend(|p| {
            let ttl = p.cache_ttl;
            stores(p)
                .any(StoreKind::keeps_sessions)
                .then(|| match ttl.is_zero() {
                    true => "`off`".into(),
                    false => format!("`{}`", duration(ttl)),
                })
        })
    })
    .read_by_from(looks_up),
    EnvVar::plain(
        "SESSION_CACHE_SIZE",
        "Most cached sessions, lookups in flight included; when full, a new session is looked up \
         without the cache.",
    )
    .defaults_to("`10000`")
    .read_by_from(looks_up),
    EnvVar::plain(
        "SESSION_CACHE_PER_CLIENT",
        "Most cache entries one client address (IPv6: one /64) may hold; past it, its new \
         sessions are looked up without the cache.",
    )
    .defaults_to("`1000`")
    .read_by_from(looks_up),
    EnvVar::plain(
        "SESSION_MAX_AGE",
        "The oldest session accepted (up to `400d`), for backends whose cookie carries no expiry \
         of its own.",
    )
    .defaults_from(|| per_backend(|p| p.max_age.map(|d| format!("`{}`", duration(d)))))
    .read_by_from(|| backends_where(|p| p.max_age.is_some())),
];

/// The backends that look sessions up, which the cache serves.
fn looks_up() -> String {
    backends_where(|p| stores(p).any(StoreKind::keeps_sessions))
}

/// The rows of the reference for the stores' settings, read by the
/// backends whose sessions are kept there.
pub(super) const STORE_VARS: &[EnvVar] = &[
    EnvVar::url(
        "REDIS_URL",
        "`redis://[:password@]host:6379[/db]`, or `rediss://` for TLS, verified against the \
         system's roots or `REDIS_CA_FILE` (`/#insecure` turns that off for a development server).",
    )
    .defaults_to("required (with `REDIS_SENTINELS` or `REDIS_CLUSTER`: only credentials and TLS)")
    .read_by_from(redis_readers),
    EnvVar::plain(
        "REDIS_CA_FILE",
        "PEM CA certificate(s) trusted for `rediss://` instead of the system's roots; read and \
         checked at start-up.",
    )
    .read_by_from(redis_readers),
    EnvVar::plain(
        "REDIS_SENTINELS",
        "Redis Sentinel: the sentinels, `host:port` comma-separated; with \
         `REDIS_SENTINEL_MASTER`, the primary they name is used and followed across failovers.",
    )
    .read_by_from(redis_readers),
    EnvVar::plain(
        "REDIS_SENTINEL_MASTER",
        "The Sentinel group's name (`sentinel monitor <name> ...`).",
    )
    .read_by_from(redis_readers),
    EnvVar::plain(
        "REDIS_CLUSTER",
        "Redis Cluster: some of its nodes, `host:port` comma-separated; commands go to the node \
         owning their key. Not together with `REDIS_SENTINELS`.",
    )
    .read_by_from(redis_readers),
    EnvVar::plain(
        "SESSION_REDIS_PREFIX",
        "The sessions' key prefix (connect-redis's `prefix`).",
    )
    .defaults_to("`sess:`")
    .read_by_from(|| backends_where(|p| stores(p).any(|k| k == StoreKind::Redis))),
    EnvVar::url(
        "DATABASE_URL",
        "`postgres://user:password@host:5432/db`, with libpq's `sslmode` (`disable`, `prefer`, \
         `require`, `verify-ca`, `verify-full`) and `sslrootcert` (a PEM file) in the query.",
    )
    .defaults_from(|| {
        per_backend(|p| {
            let optional = |kind| match kind {
                StoreKind::Postgres => Some("required"),
                StoreKind::OptionalPostgres => Some("optional"),
                _ => None,
            };
            let base = optional(p.store)?;
            let mut text = base.to_owned();
            for (value, kind) in p.store_choice.iter().flat_map(|c| c.choices) {
                let other = optional(*kind).filter(|o| *o != base);
                if let (Some(other), Some(choice)) = (other, p.store_choice) {
                    text.push_str(&format!(" ({other} with `{}={value}`)", choice.var.name));
                }
            }
            Some(text)
        })
    })
    .read_by_from(|| backends_where(reads_postgres)),
    EnvVar::plain(
        "SESSION_PG_TABLE",
        "The session table (connect-pg-simple's `tableName`, better-auth's `session`, Django's \
         `django_session`), or the users table where a backend checks users; `schema.table` \
         allowed.",
    )
    .defaults_from(|| per_backend(|p| reads_postgres(p).then(|| format!("`{}`", p.pg_table))))
    .read_by_from(|| backends_where(reads_postgres)),
    EnvVar::url(
        "SESSION_UPSTREAM_URL",
        "Your app's \"who am I\" endpoint, e.g. `http://127.0.0.1:3000/api/me`: it answers 200 \
         JSON or 401.",
    )
    .defaults_to("required")
    .read_by_from(upstream_readers),
    EnvVar::plain(
        "SESSION_UPSTREAM_METHOD",
        "`GET` or `POST` (sent without a body).",
    )
    .defaults_to("`GET`")
    .read_by_from(upstream_readers),
    EnvVar::plain(
        "SESSION_UPSTREAM_HEADERS",
        "Request headers forwarded besides `Cookie`, comma-separated (never `Authorization` or \
         `Host`).",
    )
    .defaults_to("none")
    .read_by_from(upstream_readers),
    EnvVar::plain(
        "SESSION_UPSTREAM_COOKIES",
        "The cookies that identify a session (e.g. `connect.sid`): they alone key the cache, and a \
         request without any of them is 401 without asking the upstream.",
    )
    .defaults_to("the whole `Cookie` header")
    .read_by_from(upstream_readers),
];

/// The backends and features that read Redis's connection settings.
fn redis_readers() -> String {
    let backends = backends_where(|p| stores(p).any(|k| k == StoreKind::Redis));
    format!("{backends}, `RATE_LIMIT_STORE=redis`")
}

/// The backends that ask an upstream.
fn upstream_readers() -> String {
    backends_where(|p| stores(p).any(|k| k == StoreKind::Upstream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_back_as_written() {
        for (secs, text) in [(2, "2s"), (14 * 86_400, "14d"), (5400, "1h30m"), (0, "0")] {
            assert_eq!(duration(Duration::from_secs(secs)), text);
            assert_eq!(
                super::super::parse_duration(text),
                Some(Duration::from_secs(secs))
            );
        }
    }

    #[test]
    fn a_default_shared_by_most_backends_is_bare() {
        let ttl = per_backend(|p| Some(format!("`{}`", duration(p.cache_ttl))));
        assert!(ttl.starts_with("`0`; "), "{ttl}");
        assert!(ttl.ends_with("; `2s` for `upstream`"), "{ttl}");
        let pointer = per_backend(|p| Some(format!("`{}`", p.subject_pointer)));
        assert!(
            pointer.starts_with("`/userId` for `signed-cookie`, "),
            "{pointer}"
        );
        let max_age = per_backend(|p| p.max_age.map(|d| format!("`{}`", duration(d))));
        assert!(max_age.contains("`14d` for `django`"), "{max_age}");
        assert!(max_age.contains("for `flask`"), "{max_age}");
        assert_eq!(backends_where(|_| true), "every backend");
        assert_eq!(
            backends_where(|p| p.name != "upstream"),
            "every backend but `upstream`"
        );
        assert_eq!(backends_where(|p| p.name == "redis"), "`redis`");
    }
}

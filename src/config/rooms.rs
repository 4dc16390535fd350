//! Room source settings: `ROOMS_QUERY` (with `ROOMS_DATABASE_URL`, else
//! `DATABASE_URL`), `ROOMS_REDIS_KEY` (on the service's Redis), `ROOMS_URL`
//! (with `ROOMS_URL_COOKIES`), `ROOMS_TIMEOUT`, `ROOMS_MAX`,
//! `ROOMS_CACHE_TTL`.

use std::time::Duration;

use super::store::{read_pg_tls, read_redis, required_url};
use super::vars::{read_cookie_names, read_duration, Vars};
use crate::env_var::EnvVar;
use crate::policy::Template;
use crate::rooms::{
    CookieForward, QuerySettings, RedisSetSettings, RoomsSettings, SourceSettings, UrlSettings,
    DEFAULT_MAX, DEFAULT_TIMEOUT,
};
use crate::session::store::PgTarget;
use crate::session::{SessionConfig, StoreSettings};

/// The variables that each name a room source (at most one may be set).
pub(super) const SOURCE_VARS: &[&str] = &["ROOMS_QUERY", "ROOMS_REDIS_KEY", "ROOMS_URL"];

/// Longest accepted `ROOMS_TIMEOUT`.
const MAX_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest accepted `ROOMS_CACHE_TTL`.
const MAX_CACHE_TTL: Duration = Duration::from_secs(300);
/// Largest accepted `ROOMS_MAX`.
const MAX_ROOMS_MAX: usize = 4096;

pub(super) fn read_rooms(vars: &mut Vars) -> Option<RoomsSettings> {
    let timeout = read_duration(vars, "ROOMS_TIMEOUT", DEFAULT_TIMEOUT, MAX_TIMEOUT);
    let max = match vars.get("ROOMS_MAX") {
        None => DEFAULT_MAX,
        Some(n) => vars
            .check(
                "ROOMS_MAX",
                n.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_ROOMS_MAX).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "`{n}` is not a count from 1 to {MAX_ROOMS_MAX}; e.g. ROOMS_MAX=256"
                        )
                    }),
            )
            .unwrap_or(DEFAULT_MAX),
    };
    let cache_ttl = match vars.get("ROOMS_CACHE_TTL").as_deref() {
        None | Some("0") | Some("off") => Duration::ZERO,
        Some(_) => read_duration(vars, "ROOMS_CACHE_TTL", Duration::ZERO, MAX_CACHE_TTL),
    };
    let set: Vec<&str> = SOURCE_VARS
        .iter()
        .copied()
        .filter(|&var| vars.get(var).is_some())
        .collect();
    if set.len() > 1 {
        vars.fail(
            set[1],
            format!(
                "set together with {}; a service has one room source, so set one of {}",
                set[0],
                SOURCE_VARS.join(", ")
            ),
        );
        return None;
    }
    let source = match set.first().copied() {
        None => SourceSettings::None,
        Some("ROOMS_QUERY") => SourceSettings::Query(read_query(vars)?),
        Some("ROOMS_REDIS_KEY") => SourceSettings::RedisSet(read_redis_key(vars)?),
        Some(_) => SourceSettings::Url(read_url(vars)?),
    };
    Some(RoomsSettings {
        source,
        timeout,
        max,
        cache_ttl,
        ..RoomsSettings::default()
    })
}

/// `ROOMS_QUERY` and its database.
fn read_query(vars: &mut Vars) -> Option<QuerySettings> {
    let query = vars.get("ROOMS_QUERY")?;
    if !query.contains("$1") {
        vars.fail(
            "ROOMS_QUERY",
            "does not use $1 (the subject), so every user would get the same rooms; e.g. \
             select 'document-' || document_id from memberships where user_id = $1",
        );
    } else if query.contains("{sub}") {
        vars.fail(
            "ROOMS_QUERY",
            "holds `{sub}`; the subject is the bound parameter $1 and the requested rooms $2 \
             (nothing is substituted into the text)",
        );
    }
    let var = match vars.get("ROOMS_DATABASE_URL") {
        Some(_) => "ROOMS_DATABASE_URL",
        None if vars.get("DATABASE_URL").is_some() => "DATABASE_URL",
        None => {
            vars.fail(
                "ROOMS_DATABASE_URL",
                "not set, nor DATABASE_URL; ROOMS_QUERY needs the database, e.g. \
                 ROOMS_DATABASE_URL=postgres://user:password@127.0.0.1:5432/app",
            );
            return None;
        }
    };
    let url = required_url(
        vars,
        var,
        &["postgres://", "postgresql://"],
        "postgres://user:password@127.0.0.1:5432/app",
    )?;
    let (url, ssl_mode, root_pem) = read_pg_tls(vars, var, &url)?;
    Some(QuerySettings {
        query,
        database: PgTarget {
            url,
            ssl_mode,
            root_pem,
        },
        database_var: var,
    })
}

/// `ROOMS_REDIS_KEY` and the service's Redis.
fn read_redis_key(vars: &mut Vars) -> Option<RedisSetSettings> {
    let template = vars.get("ROOMS_REDIS_KEY")?;
    let key = vars.check(
        "ROOMS_REDIS_KEY",
        Template::parse(&template)
            .map_err(|e| format!("{e}; e.g. ROOMS_REDIS_KEY=rooms:{{sub}}"))
            .and_then(|key| match key.is_wildcard() {
                true => Err("ends in `*`; name one set per user, e.g. rooms:{sub}".into()),
                false => Ok(key),
            }),
    );
    let (url, ca_pem, topology) = read_redis(vars)?;
    Some(RedisSetSettings {
        key: key?,
        url,
        ca_pem,
        topology,
    })
}

/// `ROOMS_URL` and `ROOMS_URL_COOKIES` (when unset, the session's cookies:
/// see [`forward_session_cookies`]).
fn read_url(vars: &mut Vars) -> Option<UrlSettings> {
    let url = required_url(
        vars,
        "ROOMS_URL",
        &["http://", "https://"],
        "http://127.0.0.1:3000/api/realtime-rooms",
    )?;
    let names = read_cookie_names(vars, "ROOMS_URL_COOKIES", "sessionid");
    Some(UrlSettings {
        url,
        cookies: CookieForward::Named(names),
    })
}

/// What the room source takes from the session settings: the cache's
/// bounds, and the cookies `ROOMS_URL` is sent (see
/// [`forward_session_cookies`]).
pub(super) fn from_session(rooms: &mut RoomsSettings, session: &SessionConfig) {
    rooms.cache_size = session.cache_size;
    rooms.cache_per_client = session.cache_per_client;
    forward_session_cookies(rooms, session);
}

/// Without `ROOMS_URL_COOKIES`, `ROOMS_URL` is sent the session backend's
/// cookies: the `upstream` backend's `SESSION_UPSTREAM_COOKIES` (all of
/// them when that is unset, as it forwards them), else `SESSION_COOKIE`.
fn forward_session_cookies(rooms: &mut RoomsSettings, session: &SessionConfig) {
    let SourceSettings::Url(UrlSettings { cookies, .. }) = &mut rooms.source else {
        return;
    };
    if *cookies != CookieForward::Named(Vec::new()) {
        return;
    }
    *cookies = match &session.store {
        StoreSettings::Upstream {
            session_cookies, ..
        } if session_cookies.is_empty() => CookieForward::All,
        StoreSettings::Upstream {
            session_cookies, ..
        } => CookieForward::Named(session_cookies.clone()),
        _ => CookieForward::Named(vec![session.cookie_name.clone()]),
    };
}

/// The room source's rows in the configuration reference.
pub(super) const ROOMS_VARS: &[EnvVar] = &[
    EnvVar::plain(
        "ROOMS_QUERY",
        "Rooms from PostgreSQL: a query with `$1` = the subject (text) and `$2` = the requested \
         rooms (`text[]`, NULL when none), bound, never substituted; one text column out (rooms \
         or patterns). In `.env`, double-quote it and write `\\$1`.",
    )
    .read_by(ROOMS),
    EnvVar::url(
        "ROOMS_DATABASE_URL",
        "The database for `ROOMS_QUERY` (libpq `sslmode` / `sslrootcert` as for `DATABASE_URL`).",
    )
    .defaults_to("`DATABASE_URL` (its pool shared)")
    .read_by(ROOMS),
    EnvVar::plain(
        "ROOMS_REDIS_KEY",
        "Rooms from a Redis set your app maintains: a key template (`rooms:{sub}`, attributes as \
         in `REALTIME_ROOMS`, the same separator rule) on the service's Redis settings.",
    )
    .read_by(ROOMS),
    EnvVar::url(
        "ROOMS_URL",
        "Rooms from your app: POSTed `{\"sub\", \"rooms\"}` with the user's session cookies, \
         answering `{\"rooms\": [...]}`; 401/403 means no grants, anything else is 503.",
    )
    .read_by(ROOMS),
    EnvVar::plain(
        "ROOMS_URL_COOKIES",
        "The cookies sent to `ROOMS_URL` (comma-separated, with their chunks and prefixed forms).",
    )
    .defaults_to("`SESSION_COOKIE`")
    .read_by(ROOMS),
    EnvVar::plain(
        "ROOMS_TIMEOUT",
        "Bound on one source lookup (up to `10s`); past it, 503 `rooms_unavailable`.",
    )
    .defaults_to("`2s`")
    .read_by(ROOMS),
    EnvVar::plain(
        "ROOMS_CACHE_TTL",
        "How long a source's answer is reused per user and requested rooms (up to `5m`); `0` asks \
         on every request, so a removed membership takes effect at once. Failures are never kept.",
    )
    .defaults_to("`0`")
    .read_by(ROOMS),
    EnvVar::plain(
        "ROOMS_MAX",
        "Most rooms in a token when the request names none; past it, 403 asking for explicit rooms.",
    )
    .defaults_to("`256`")
    .read_by(ROOMS),
];

/// Who reads the room source's settings.
const ROOMS: &str = "the token endpoint, `mint`, `/readyz`";

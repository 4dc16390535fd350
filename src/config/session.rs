//! Session settings: `SESSION_BACKEND` and everything its backend reads.

use std::time::Duration;

use super::store::read_store;
use super::strength;
use super::vars::{is_cookie_name, read_duration, Vars};
use crate::secret::Secret;
use crate::session::preset::{self, Preset, SecretRole, StoreKind, PRESETS};
use crate::session::{CookieValue, FormatSettings, SessionConfig};

pub(super) fn read_session(vars: &mut Vars) -> Option<SessionConfig> {
    let preset = read_preset(vars);
    let defaults: &Preset = preset.unwrap_or(&PRESETS[0]);
    let (store_kind, choice) = read_store_choice(vars, defaults);
    let store = read_store(vars, store_kind, defaults.pg_table);
    let cookie_name = read_cookie_name(vars, defaults);
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
        None => defaults.secret != SecretRole::Unused,
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
    let (secrets_var, secrets) = read_secrets(vars, defaults);
    // A secret that vouches alone must be strong; one that signs a session
    // id the store must also know is only warned of (`Config::warnings`).
    let vouches_alone = defaults.secret == SecretRole::VouchesAlone;
    for (i, secret) in secrets.iter().enumerate() {
        let problem = match vouches_alone {
            true => strength::weakness(secret.expose()),
            false => strength::untrimmed(secret.expose()),
        };
        if let Some(why) = problem {
            vars.fail(secrets_var, format!("secret {} {why}", i + 1));
        }
    }
    if secrets.is_empty() && defaults.secret.used(cookie_signed) {
        let fallback = defaults
            .secret_fallback
            .map(|var| format!(" (or {var}, which it falls back to)"))
            .unwrap_or_default();
        vars.fail(
            "SESSION_SECRET",
            format!("not set; set it to your app's cookie-signing secret{fallback}, comma-separated, newest first, for rotation"),
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
    // A stored session expires in its store (Django's `db` engine: the row's
    // `expire_date`), so the setting applies only to cookies that carry it.
    let max_age = defaults
        .max_age
        .filter(|_| !store_kind.keeps_sessions())
        .map(|default| read_duration(vars, "SESSION_MAX_AGE", default, MAX_SESSION_AGE));
    let mut options: std::collections::BTreeMap<_, _> = defaults
        .options
        .iter()
        .filter_map(|var| Some((var.name, Secret::new(vars.get_secret(var.name)?))))
        .collect();
    options.extend(choice);
    let mut config = SessionConfig {
        preset: preset?,
        store: store?,
        cache_per_client,
        cookie_name,
        cookie_signed,
        cookie_value,
        secrets,
        secrets_var,
        subject_pointer,
        attribute_pointers,
        lookup_timeout,
        cache_ttl,
        cache_size,
        max_age,
        options,
        format: FormatSettings::none(),
    };
    match (config.preset.check)(&config) {
        Ok(format) => config.format = format,
        Err(e) => vars.fail(e.var, e.message),
    }
    Some(config)
}

/// `SESSION_SECRET`, else the preset's fallback variable (`AUTH_SECRET`):
/// the variable read and its secrets, comma-separated in it.
fn read_secrets(vars: &Vars, defaults: &Preset) -> (&'static str, Vec<Secret>) {
    let fallback = || {
        let var = defaults.secret_fallback?;
        Some((var, vars.get_secret(var)?))
    };
    let (var, value) = match vars.get_secret("SESSION_SECRET") {
        Some(value) => ("SESSION_SECRET", Some(value)),
        None => fallback().map_or(("SESSION_SECRET", None), |(var, value)| (var, Some(value))),
    };
    let secrets = value
        .map(|s| {
            s.split(',')
                .filter(|s| !s.trim().is_empty())
                .map(Secret::new)
                .collect()
        })
        .unwrap_or_default();
    (var, secrets)
}

/// Longest accepted `SESSION_MAX_AGE` (Django's and Flask's defaults are
/// two weeks and 31 days).
pub const MAX_SESSION_AGE: Duration = Duration::from_secs(400 * 86_400);

/// Longest accepted session lookup timeout.
pub const MAX_LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The store a preset reads, and the variable and value that chose it
/// when the preset lets a variable choose.
fn read_store_choice(
    vars: &mut Vars,
    preset: &Preset,
) -> (StoreKind, Option<(&'static str, Secret)>) {
    let Some(choice) = preset.store_choice else {
        return (preset.store, None);
    };
    let (default, default_kind) = choice.choices[0];
    let value = match vars.get(choice.var.name).map(|v| (choice.parse)(&v)) {
        None => default,
        Some(Ok(value)) => value,
        Some(Err(why)) => {
            vars.fail(choice.var.name, why);
            default
        }
    };
    let kind = match choice.choices.iter().find(|(name, _)| *name == value) {
        Some((_, kind)) => *kind,
        None => default_kind,
    };
    (kind, Some((choice.var.name, Secret::new(value))))
}

/// The `SESSION_BACKEND` preset.
fn read_preset(vars: &mut Vars) -> Option<&'static Preset> {
    let Some(name) = vars.get("SESSION_BACKEND") else {
        return Some(&PRESETS[0]);
    };
    let found = preset::preset(&name);
    if found.is_none() {
        let hint = format!("use {}", preset::names());
        vars.fail(
            "SESSION_BACKEND",
            format!("`{name}` is not a backend; {hint}"),
        );
    }
    found
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

/// `SESSION_COOKIE`, else the name the preset derives from another variable
/// (`SUPABASE_URL`), else the preset's usual name; empty (with the error
/// recorded) when there is none or it is not a cookie name.
fn read_cookie_name(vars: &mut Vars, defaults: &Preset) -> String {
    let name = match (vars.get("SESSION_COOKIE"), defaults.cookie_from) {
        (Some(name), _) => name,
        (None, Some((var, derive))) => match vars.get(var).map(|value| derive(&value)) {
            Some(Ok(name)) => name,
            Some(Err(why)) => {
                vars.fail(var, why);
                return String::new();
            }
            None => {
                vars.fail(
                    "SESSION_COOKIE",
                    format!(
                        "not set; set {var} (SESSION_BACKEND={} derives the cookie's name from it) or SESSION_COOKIE",
                        defaults.name
                    ),
                );
                return String::new();
            }
        },
        (None, None) => defaults.cookie.into(),
    };
    if name.is_empty() {
        vars.fail(
            "SESSION_COOKIE",
            format!(
                "not set; SESSION_BACKEND={} has no usual cookie name, so set your app's session cookie name",
                defaults.name
            ),
        );
    } else if !is_cookie_name(&name) {
        vars.fail(
            "SESSION_COOKIE",
            format!("`{name}` is not a valid cookie name; use letters, digits and `._-`"),
        );
    }
    name
}

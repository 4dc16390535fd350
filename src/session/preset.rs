//! Presets: what each `SESSION_BACKEND` value means. A preset names the
//! cookie format (by the function that builds its authenticator), the store
//! it reads, and the defaults of every setting. A new session format adds
//! its codec file and one line here; `config` reads the defaults and the
//! store's settings from this table, and nothing else changes. The
//! [`Preset`] type is `session::settings::preset`'s (a [`SessionConfig`]
//! names its preset).
//!
//! [`SessionConfig`]: super::SessionConfig

use std::time::Duration;

use super::codec::{
    authjs, better_auth, cookie_session, django, flask, iron_session, jwt, next_auth, rails,
    stored, supabase,
};
pub use super::settings::preset::{
    Build, Check, CookieFrom, CookieKind, Preset, SecretRole, StoreChoice, StoreKind, Warnings,
};
use super::{signed_cookie, upstream};

use CookieKind as K;
use SecretRole as R;
use StoreKind as S;

/// Every built-in backend, the default first.
// One line per backend, kept as a table.
#[rustfmt::skip]
pub const PRESETS: &[Preset] = &[
    //          name              cookie         subject    store        secret             build
    Preset::new("signed-cookie",  "session",     "/userId", S::None,     R::VouchesAlone,   signed_cookie::build),
    Preset::new("redis",          "connect.sid", "/userId", S::Redis,    R::SignsSessionId, stored::build),
    Preset::new("postgres",       "connect.sid", "/userId", S::Postgres, R::SignsSessionId, stored::build),
    Preset::new("cookie-session", "session",     "/userId", S::None,     R::VouchesAlone,   cookie_session::build),
    Preset::new("django",         "sessionid",   "/_auth_user_id", S::Postgres, R::VouchesAlone, django::build)
        .store_choice(django::ENGINE_VAR, &[("db", S::Postgres), ("signed_cookies", S::OptionalPostgres)], django::engine)
        .pg_table("django_session").max_age(Duration::from_secs(14 * 86_400))
        .options(django::OPTIONS).check(django::check).warnings(django::warnings),
    Preset::new("iron-session",   "",            "/userId", S::None,     R::VouchesAlone,   iron_session::build)
        .check(iron_session::check).cookie_kind(K::Encrypted),
    Preset::new("authjs",         "authjs.session-token",    "/sub", S::None, R::VouchesAloneWarned, authjs::build)
        .secret_fallback("AUTH_SECRET").cookie_kind(K::Encrypted),
    Preset::new("next-auth",      "next-auth.session-token", "/sub", S::None, R::VouchesAloneWarned, next_auth::build)
        .secret_fallback("NEXTAUTH_SECRET").cookie_kind(K::Encrypted),
    Preset::new("flask",          "session",     "/_user_id", S::None,   R::VouchesAlone,   flask::build)
        .max_age(Duration::from_secs(31 * 86_400)),
    Preset::new("jwt-cookie",     "",            "/sub",    S::None,     R::Unused,         jwt::build)
        .options(jwt::OPTIONS).check(jwt::check).cookie_kind(K::IssuerJwt),
    Preset::new("rails",          "",            "/warden.user.user.key/0/0", S::OptionalPostgres, R::VouchesAlone, rails::build)
        .options(rails::OPTIONS).check(rails::check).warnings(rails::warnings).pg_table("users")
        .cookie_kind(K::Encrypted),
    Preset::new("better-auth",    "better-auth.session_token", "/userId", S::Postgres, R::VouchesAloneWarned, better_auth::build)
        .secret_fallback("BETTER_AUTH_SECRET").cookie_kind(K::SignedSessionToken),
    Preset::new("supabase",       "",            "/sub",    S::None,     R::Unused,         supabase::build)
        .options(supabase::OPTIONS).check(supabase::check).cookie_from(supabase::URL, supabase::cookie_name)
        .cookie_kind(K::IssuerJwt),
    Preset::new("upstream",       "session",     "/id",     S::Upstream, R::Unused,         upstream::build)
        .cache_ttl(Duration::from_secs(2)),
];

/// The preset called `name`, or `None` for an unknown backend.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The backend names, for error messages: `a, b, c or d`.
pub fn names() -> String {
    let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The first cookie in `headers` named as some format's session cookie
/// (its default name, or that with `__Secure-`), with that format's
/// `SESSION_BACKEND` value: a hint when the configured cookie is missing.
/// Only names from this table come back, never the request's own text.
pub fn session_cookie_seen(
    headers: &actix_web::http::header::HeaderMap,
) -> Option<(&'static str, &'static str)> {
    super::cookies::cookies(headers)
        .filter(|c| !c.value().is_empty())
        .find_map(|c| {
            let name = c.name().strip_prefix("__Secure-").unwrap_or(c.name());
            PRESETS
                .iter()
                .find(|p| !p.cookie.is_empty() && p.cookie == name && p.name != "upstream")
                .map(|p| (p.cookie, p.name))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_comes_first_and_names_read_as_a_list() {
        assert_eq!(PRESETS[0].name, "signed-cookie");
        assert!(names().starts_with("signed-cookie, redis, postgres, "));
        assert!(names().ends_with(" or upstream"));
        assert_eq!(preset("upstream").unwrap().subject_pointer, "/id");
        assert!(preset("memcached").is_none());
    }

    #[test]
    fn names_are_unique() {
        for (i, p) in PRESETS.iter().enumerate() {
            assert!(PRESETS[..i].iter().all(|q| q.name != p.name), "{}", p.name);
        }
    }
}

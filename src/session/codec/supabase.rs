//! Supabase Auth sessions, read from `@supabase/ssr` 0.12.7 (`cookies.js`,
//! `utils/chunker.js`, `utils/base64url.js`, `utils/constants.js`) and
//! `@supabase/supabase-js` 2.119.1. The client keeps the session under the
//! storage key `sb-<first label of the project URL's host>-auth-token`
//! (`cookieOptions.name` overrides it), as one cookie of that name or, when
//! the URI-encoded value is over 3180 characters, as chunks `<name>.0`,
//! `<name>.1`, ... The value is `base64-` and the base64url of the session
//! JSON (the default `cookieEncoding`), or that JSON as is
//! (`cookieEncoding: "raw"`, and older releases).
//!
//! Only the session's `access_token` is trusted: a JWT the project signs
//! (HS256 with its legacy JWT secret, or ES256 / RS256 keys published at
//! `<url>/auth/v1/.well-known/jwks.json`), verified as `jwt-cookie` verifies
//! (`jwt/jws.rs`, `jwt/jwks.rs`), with `exp` required and `aud` =
//! `authenticated` by default. The rest of the cookie (`user`,
//! `refresh_token`) is not signed and is never read. An expired access
//! token is refused: refreshing it is the app's job (its middleware, as
//! Supabase's SSR guide requires), since only the app holds the refresh
//! token's counterpart at the auth server.
//!
//! The library reads the unchunked cookie when it is there and else joins
//! `.0`, `.1`, ... up to the first missing one; here the chunks must also
//! run without a gap (`chunks.rs`).

use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use serde::Deserialize;

use super::chunks;
use super::jwt::cookie::{
    Defaults, JwtSettings, ALGORITHMS_VAR, AUDIENCE_VAR, CACHE_SIZE_VAR, ISSUER_VAR,
    JWKS_CACHE_MAX_VAR, JWKS_CACHE_MIN_VAR, JWKS_FILE_VAR, JWKS_URL_VAR, KEY_VAR,
};
use super::jwt::JwtCookieAuthenticator;
use crate::b64;
use crate::env_var::EnvVar;
use crate::metrics::CacheMetrics;
use crate::session::cookies::find_cookie;
use crate::session::Reason;
use crate::session::{
    FormatSettings, SessionAuthenticator, SessionConfig, SessionError, SettingError,
};

/// `SUPABASE_URL`: the project URL the app's Supabase client is given.
pub const URL: &str = "SUPABASE_URL";
/// The variables the preset reads: `SUPABASE_URL` and `jwt-cookie`'s
/// (only the key is secret).
pub const OPTIONS: &[EnvVar] = &[
    EnvVar::url(
        URL,
        "The project URL the app's Supabase client is given (`https://<ref>.supabase.co`); it \
         names the cookie (`sb-<ref>-auth-token`) and, when no key variable is set, the JWKS.",
    ),
    ALGORITHMS_VAR.defaults_from(|| {
        let (secret, keys) = ALGORITHMS_DEFAULT;
        format!("`{secret}` with a secret in `SESSION_JWT_KEY`, else `{keys}`")
    }),
    KEY_VAR,
    JWKS_FILE_VAR,
    JWKS_URL_VAR.defaults_from(|| format!("`<{URL}>/{JWKS_PATH}` when no other key is set")),
    ISSUER_VAR,
    AUDIENCE_VAR.defaults_from(|| format!("`{AUDIENCE_DEFAULT}`")),
    CACHE_SIZE_VAR,
    JWKS_CACHE_MIN_VAR,
    JWKS_CACHE_MAX_VAR,
];

/// `SESSION_JWT_ALGORITHMS` when unset: with the legacy JWT secret in
/// `SESSION_JWT_KEY`, and with any other key (what Supabase's signing keys are).
const ALGORITHMS_DEFAULT: (&str, &str) = ("HS256", "ES256,RS256");
/// `SESSION_JWT_AUDIENCE` when unset: Supabase Auth's, which the project's
/// anon and service-role API keys lack.
const AUDIENCE_DEFAULT: &str = "authenticated";
/// Where `auth-js` fetches the project's JWKS, under the project URL.
const JWKS_PATH: &str = "auth/v1/.well-known/jwks.json";

const BASE64_PREFIX: &str = "base64-";

/// The session cookie's name for project `url`, as `supabase-js` derives
/// its storage key: `sb-<first label of the host>-auth-token`.
pub fn cookie_name(url: &str) -> Result<String, String> {
    let url = project_url(url)?;
    let label = url
        .host_str()
        .and_then(|host| host.split('.').next())
        .filter(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .ok_or("its host gives no usable cookie name; set SESSION_COOKIE to the sb-...-auth-token cookie's name")?;
    Ok(format!("sb-{label}-auth-token"))
}

/// `SUPABASE_URL`, parsed.
fn project_url(url: &str) -> Result<reqwest::Url, String> {
    reqwest::Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| "must be your project's http(s) URL, e.g. https://<ref>.supabase.co".into())
}

/// The project's JWKS, where `auth-js` fetches it: `<url>/auth/v1/.well-known/jwks.json`.
fn jwks_url(url: &str) -> Option<String> {
    let mut base = project_url(url).ok()?;
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(JWKS_PATH).ok().map(String::from)
}

/// What the preset assumes: the JWT secret means HS256, keys mean ES256 or
/// RS256 (what Supabase's signing keys are), `SUPABASE_URL`'s JWKS when no
/// key is set, and `aud` `authenticated` (Supabase Auth's, which the
/// project's anon and service-role API keys lack).
fn defaults(config: &SessionConfig) -> Defaults {
    Defaults {
        algorithms: Some(ALGORITHMS_DEFAULT),
        jwks_url: config.option(URL).and_then(jwks_url),
        audience: Some(AUDIENCE_DEFAULT),
        key_hint: "supabase needs a key: set SUPABASE_URL (its JWKS is used), SESSION_JWT_KEY (the project's legacy JWT secret), SESSION_JWKS_FILE or SESSION_JWKS_URL",
    }
}

/// The session's access token in the request's Supabase cookies, or why
/// there is none.
pub fn access_token(headers: &HeaderMap, name: &str) -> Result<String, SessionError> {
    let value = match find_cookie(headers, name).filter(|v| !v.is_empty()) {
        Some(whole) => whole,
        None => chunks::session_value(headers, name)?.ok_or(SessionError::Unauthenticated(
            Reason::NoCookie,
            "no session cookie",
        ))?,
    };
    session_token(&value)
}

/// The `access_token` of one session cookie value.
fn session_token(value: &str) -> Result<String, SessionError> {
    #[derive(Deserialize)]
    struct Session {
        access_token: String,
    }
    let malformed = SessionError::Unauthenticated(
        Reason::Malformed,
        "the Supabase session cookie is malformed",
    );
    let json = match value.strip_prefix(BASE64_PREFIX) {
        Some(encoded) => b64::url_decode_any_padding(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(malformed.clone())?,
        None => value.to_owned(),
    };
    serde_json::from_str::<Session>(&json)
        .map(|s| s.access_token)
        .map_err(|_| malformed)
}

/// The `supabase` preset's [`Check`](crate::session::preset::Check).
pub fn check(config: &SessionConfig) -> Result<FormatSettings, SettingError> {
    if let Some(url) = config.option(URL) {
        cookie_name(url).map_err(|message| SettingError { var: URL, message })?;
    }
    JwtSettings::with_defaults(config, &defaults(config)).map(FormatSettings::new)
}

/// The `supabase` preset's [`Build`](crate::session::preset::Build).
pub fn build(
    config: &SessionConfig,
    cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    let settings: &JwtSettings = config.settings()?;
    Ok(Arc::new(JwtCookieAuthenticator::reading(
        settings.clone(),
        config,
        cache,
        access_token,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::COOKIE;

    #[test]
    fn names_the_cookie_and_the_jwks_as_supabase_js_does() {
        let name = |u| cookie_name(u).unwrap();
        assert_eq!(
            name("https://abcd1234.supabase.co"),
            "sb-abcd1234-auth-token"
        );
        assert_eq!(name("https://ABCD.supabase.co/"), "sb-abcd-auth-token");
        assert_eq!(name("http://127.0.0.1:54321"), "sb-127-auth-token");
        assert_eq!(name("https://auth.example.com/x"), "sb-auth-auth-token");
        assert!(cookie_name("abcd.supabase.co").is_err());
        assert!(cookie_name("http://[::1]:54321").is_err());
        assert_eq!(
            jwks_url("https://abcd.supabase.co").as_deref(),
            Some("https://abcd.supabase.co/auth/v1/.well-known/jwks.json")
        );
        assert_eq!(
            jwks_url("http://127.0.0.1:8000/base").as_deref(),
            Some("http://127.0.0.1:8000/base/auth/v1/.well-known/jwks.json")
        );
    }

    fn read(header: &str) -> Result<String, SessionError> {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, header.parse().unwrap());
        access_token(&headers, "sb-x-auth-token")
    }

    #[test]
    fn reads_the_access_token_from_base64_or_raw_json() {
        // base64url of {"access_token":"a.b.c","user":{}}, split anywhere.
        let b64 = "base64-eyJhY2Nlc3NfdG9rZW4iOiJhLmIuYyIsInVzZXIiOnt9fQ";
        assert_eq!(read(&format!("sb-x-auth-token={b64}")).unwrap(), "a.b.c");
        let (head, tail) = b64.split_at(20);
        let chunked = format!("sb-x-auth-token.1={tail}; sb-x-auth-token.0={head}");
        assert_eq!(read(&chunked).unwrap(), "a.b.c");
        let raw = "sb-x-auth-token=%7B%22access_token%22%3A%22a.b.c%22%7D";
        assert_eq!(read(raw).unwrap(), "a.b.c");
        // The unchunked cookie wins, as in the library.
        let whole = "sb-x-auth-token=base64-eyJhY2Nlc3NfdG9rZW4iOiJ3LmgubCJ9";
        assert_eq!(read(&format!("{chunked}; {whole}")).unwrap(), "w.h.l");
        for bad in [
            "sb-x-auth-token=base64-!!!",
            "sb-x-auth-token=base64-e30",
            "sb-x-auth-token=eyJhbGciOiJIUzI1NiJ9.e30.x",
            "sb-x-auth-token.1=abc",
            "sb-y-auth-token=base64-eyJhY2Nlc3NfdG9rZW4iOiJhLmIuYyJ9",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}

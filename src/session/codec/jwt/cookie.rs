//! `jwt-cookie`: any JWS session cookie (Clerk's `__session`, a team's own),
//! verified with `jsonwebtoken`. The pure parts live here: the settings
//! (`SESSION_JWT_*`, `SESSION_JWKS_*`) and their start-up check, the key
//! ring, and the verification of one token against it (header, algorithm
//! allow-list, key choice by `kid`, signature, `exp` / `nbf` / `iss` /
//! `aud`) are in `jws.rs`; fetching a JWKS URL is in `jwks.rs`.

use std::time::Duration;

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

pub use super::jws::{
    KeyRing, Lifetime, PublicKey, Refusal, Secret, Verified, Verifier, LEEWAY_SECS,
};

use crate::env_var::EnvVar;
use crate::session::{FormatSettings, SessionConfig, SettingError};

/// `SESSION_JWT_ALGORITHMS`: the accepted `alg` values, comma-separated.
pub const ALGORITHMS: &str = "SESSION_JWT_ALGORITHMS";
/// `SESSION_JWT_KEY`: an HMAC secret or a PEM public key.
pub const KEY: &str = "SESSION_JWT_KEY";
/// `SESSION_JWKS_FILE`: a JWKS document on disk.
pub const JWKS_FILE: &str = "SESSION_JWKS_FILE";
/// `SESSION_JWKS_URL`: a JWKS document fetched over HTTP(S).
pub const JWKS_URL: &str = "SESSION_JWKS_URL";
/// `SESSION_JWT_ISSUER`: the required `iss`, when set.
pub const ISSUER: &str = "SESSION_JWT_ISSUER";
/// `SESSION_JWT_AUDIENCE`: a required `aud` member, when set.
pub const AUDIENCE: &str = "SESSION_JWT_AUDIENCE";
/// `SESSION_JWT_AUTHORIZED_PARTIES`: the accepted `azp` values,
/// comma-separated; when set, a token without one of them is refused.
pub const AUTHORIZED_PARTIES: &str = "SESSION_JWT_AUTHORIZED_PARTIES";
/// `SESSION_JWT_CACHE_SIZE`: most verified tokens kept; 0 = no cache.
pub const CACHE_SIZE: &str = "SESSION_JWT_CACHE_SIZE";
/// `SESSION_JWKS_CACHE_MIN`: the shortest time a fetched JWKS is kept.
pub const JWKS_CACHE_MIN: &str = "SESSION_JWKS_CACHE_MIN";
/// `SESSION_JWKS_CACHE_MAX`: the longest time a fetched JWKS is kept.
pub const JWKS_CACHE_MAX: &str = "SESSION_JWKS_CACHE_MAX";
/// The variables the preset reads; only the key is secret.
pub const OPTIONS: &[EnvVar] = &[
    ALGORITHMS_VAR.defaults_to("required"),
    KEY_VAR,
    JWKS_FILE_VAR,
    JWKS_URL_VAR,
    ISSUER_VAR,
    AUDIENCE_VAR,
    EnvVar::plain(
        AUTHORIZED_PARTIES,
        "The accepted `azp` values, comma-separated (your app's origins, as Clerk's \
         `authorizedParties`); when set, a token without one of them is refused.",
    ),
    CACHE_SIZE_VAR,
    JWKS_CACHE_MIN_VAR,
    JWKS_CACHE_MAX_VAR,
];

/// `SESSION_JWT_ALGORITHMS`, for this preset and the ones built on it.
pub const ALGORITHMS_VAR: EnvVar = EnvVar::plain(
    ALGORITHMS,
    "The accepted JWS `alg` values, comma-separated (`RS256`; `ES256,EdDSA`; `HS256`); never \
     `none`; `HS*` only with a secret in `SESSION_JWT_KEY`, the others only with public keys.",
);
/// `SESSION_JWT_KEY`.
pub const KEY_VAR: EnvVar = EnvVar::secret(
    KEY,
    "The verification key: a PEM public key or an HMAC secret for `HS*` (refused when weak, as \
     `JWT_SECRET` is); exactly one of this, `SESSION_JWKS_FILE` and `SESSION_JWKS_URL`.",
);
/// `SESSION_JWKS_FILE`.
pub const JWKS_FILE_VAR: EnvVar = EnvVar::plain(
    JWKS_FILE,
    "A JWKS document on disk, read at start-up; keys are chosen by `kid`.",
);
/// `SESSION_JWKS_URL`.
pub const JWKS_URL_VAR: EnvVar = EnvVar::url(
    JWKS_URL,
    "A JWKS URL, fetched within `SESSION_LOOKUP_TIMEOUT` and cached; an unknown `kid` refetches \
     it at most once a minute.",
);
/// `SESSION_JWT_ISSUER`.
pub const ISSUER_VAR: EnvVar = EnvVar::plain(
    ISSUER,
    "The required `iss`: when set, a token without it is refused.",
);
/// `SESSION_JWT_AUDIENCE`.
pub const AUDIENCE_VAR: EnvVar = EnvVar::plain(
    AUDIENCE,
    "A required `aud` member: when set, a token without it is refused; unset, `aud` is not \
     checked.",
);
/// `SESSION_JWKS_CACHE_MIN`.
pub const JWKS_CACHE_MIN_VAR: EnvVar = EnvVar::plain(
    JWKS_CACHE_MIN,
    "The shortest time a fetched JWKS is kept, whatever its `Cache-Control` says (`1s` to `24h`).",
)
.defaults_to("`30s`");
/// `SESSION_JWKS_CACHE_MAX`.
pub const JWKS_CACHE_MAX_VAR: EnvVar = EnvVar::plain(
    JWKS_CACHE_MAX,
    "The longest time a fetched JWKS is kept (`1s` to `24h`, not below `SESSION_JWKS_CACHE_MIN`): \
     while the URL answers, a key removed from the JWKS verifies at most this long.",
)
.defaults_to("`1h`");
/// `SESSION_JWT_CACHE_SIZE`.
pub const CACHE_SIZE_VAR: EnvVar = EnvVar::plain(
    CACHE_SIZE,
    "Most verified tokens kept in memory (by SHA-256, never the token), up to `1000000`; `0` \
     disables. A hit still checks `exp` and `nbf`; a JWKS refetch empties it.",
)
.defaults_from(|| format!("`{DEFAULT_CACHE_SIZE}`"));

/// `SESSION_JWT_CACHE_SIZE` when unset.
pub const DEFAULT_CACHE_SIZE: usize = 10_000;
/// Largest `SESSION_JWT_CACHE_SIZE`.
const MAX_CACHE_SIZE: usize = 1_000_000;

/// Where the verification keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// Known at start-up (`SESSION_JWT_KEY` or `SESSION_JWKS_FILE`).
    Fixed(KeyRing),
    /// `SESSION_JWKS_URL`, fetched when needed and kept within the bounds.
    Url(reqwest::Url, CacheBounds),
}

/// How long a fetched JWKS is kept: its `Cache-Control: max-age`, within
/// these bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheBounds {
    /// `SESSION_JWKS_CACHE_MIN`, default 30 s.
    pub min: Duration,
    /// `SESSION_JWKS_CACHE_MAX`, default 1 h.
    pub max: Duration,
}

impl CacheBounds {
    /// 30 s to 1 h.
    pub const DEFAULT: Self = Self {
        min: Duration::from_secs(30),
        max: Duration::from_secs(3600),
    };
    /// Smallest `SESSION_JWKS_CACHE_MIN`.
    const FLOOR: Duration = Duration::from_secs(1);
    /// Largest `SESSION_JWKS_CACHE_MAX`.
    const CEILING: Duration = Duration::from_secs(86_400);

    /// `max_age` (the answer's, or a default when it has none) within the
    /// bounds.
    pub fn keep_for(&self, max_age: Duration) -> Duration {
        max_age.clamp(self.min, self.max)
    }

    fn from_config<'c>(set: impl Fn(&str) -> Option<&'c str>) -> Result<Self, SettingError> {
        let read = |var: &'static str, default: Duration| match set(var) {
            None => Ok(default),
            Some(text) => crate::token::parse_duration(text)
                .filter(|d| (Self::FLOOR..=Self::CEILING).contains(d))
                .ok_or_else(|| bad(var, "a duration from 1s to 24h, e.g. 30s, 5m or 1h")),
        };
        let min = read(JWKS_CACHE_MIN, Self::DEFAULT.min)?;
        let max = read(JWKS_CACHE_MAX, Self::DEFAULT.max.max(min))?;
        if max < min {
            return Err(bad(
                JWKS_CACHE_MAX,
                "must not be shorter than SESSION_JWKS_CACHE_MIN",
            ));
        }
        Ok(Self { min, max })
    }
}

/// The `jwt-cookie` settings, checked (the preset's format settings).
#[derive(Clone)]
pub struct JwtSettings {
    /// What verifies a token once its key is chosen.
    pub verifier: Verifier,
    /// Where the keys come from.
    pub keys: KeySource,
    /// The accepted `azp` values; empty: `azp` is not checked.
    pub authorized_parties: Vec<String>,
    /// Most verified tokens cached; 0 = none.
    pub cache_size: usize,
}

fn bad(var: &'static str, message: impl Into<String>) -> SettingError {
    SettingError {
        var,
        message: message.into(),
    }
}

/// What a preset built on these settings assumes for the variables left
/// unset (`supabase`); `jwt-cookie` assumes nothing ([`Defaults::NONE`]).
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// `SESSION_JWT_ALGORITHMS`: with an HMAC secret in `SESSION_JWT_KEY`,
    /// and with any other key. `None`: the variable is required.
    pub algorithms: Option<(&'static str, &'static str)>,
    /// `SESSION_JWKS_URL` when no key variable is set.
    pub jwks_url: Option<String>,
    /// `SESSION_JWT_AUDIENCE` when unset.
    pub audience: Option<&'static str>,
    /// What to set when there is no key at all.
    pub key_hint: &'static str,
}

impl Defaults {
    /// No defaults: `jwt-cookie`'s.
    pub const NONE: Self = Self {
        algorithms: None,
        jwks_url: None,
        audience: None,
        key_hint:
            "jwt-cookie needs a key: set SESSION_JWT_KEY, SESSION_JWKS_FILE or SESSION_JWKS_URL",
    };
}

impl JwtSettings {
    /// Reads and checks the preset's variables; `Err` names the variable.
    pub fn from_config(config: &SessionConfig) -> Result<Self, SettingError> {
        Self::with_defaults(config, &Defaults::NONE)
    }

    /// As [`from_config`](Self::from_config), filling unset variables from
    /// `defaults`.
    pub fn with_defaults(
        config: &SessionConfig,
        defaults: &Defaults,
    ) -> Result<Self, SettingError> {
        let set = |v: &str| config.option(v).filter(|s| !s.trim().is_empty());
        let algorithms = match (set(ALGORITHMS), defaults.algorithms) {
            (None, Some((secret, public))) => {
                let pem = set(KEY).is_some_and(|k| k.trim_start().starts_with("-----BEGIN"));
                let by_key = if set(KEY).is_some() && !pem {
                    secret
                } else {
                    public
                };
                parse_algorithms(Some(by_key))?
            }
            (list, _) => parse_algorithms(list)?,
        };
        let hmac = algorithms
            .iter()
            .any(|a| a.family() == AlgorithmFamily::Hmac);
        let bounds = CacheBounds::from_config(set)?;
        let sources = [KEY, JWKS_FILE, JWKS_URL]
            .into_iter()
            .filter(|v| set(v).is_some())
            .collect::<Vec<_>>();
        let keys =
            match (sources.as_slice(), &defaults.jwks_url) {
                ([KEY], _) => KeySource::Fixed(key_from_setting(
                    config.option(KEY).unwrap_or(""),
                    &algorithms,
                )?),
                ([JWKS_FILE], _) => {
                    let path = config.option(JWKS_FILE).unwrap_or("").trim();
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| bad(JWKS_FILE, format!("cannot read {path}: {e}")))?;
                    let ring = KeyRing::from_jwks(&text).map_err(|why| bad(JWKS_FILE, why))?;
                    KeySource::Fixed(ring)
                }
                ([JWKS_URL], _) => {
                    KeySource::Url(jwks_url(config.option(JWKS_URL).unwrap_or(""))?, bounds)
                }
                ([], Some(url)) => KeySource::Url(jwks_url(url)?, bounds),
                ([], None) => return Err(bad(KEY, defaults.key_hint)),
                ([first, ..], _) => return Err(bad(
                    first,
                    "set exactly one of SESSION_JWT_KEY, SESSION_JWKS_FILE and SESSION_JWKS_URL",
                )),
            };
        if hmac && !matches!(&keys, KeySource::Fixed(KeyRing::Secret(_))) {
            return Err(bad(
                ALGORITHMS,
                "HS256/HS384/HS512 need an HMAC secret in SESSION_JWT_KEY, never a public key or JWKS",
            ));
        }
        let verifier = Verifier::new(algorithms, set(ISSUER), set(AUDIENCE).or(defaults.audience));
        let authorized_parties = set(AUTHORIZED_PARTIES)
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        let cache_size = match set(CACHE_SIZE).map(str::trim) {
            None | Some("") => DEFAULT_CACHE_SIZE,
            Some(n) => n
                .parse()
                .ok()
                .filter(|n| *n <= MAX_CACHE_SIZE)
                .ok_or_else(|| {
                    bad(
                        CACHE_SIZE,
                        format!("a whole number, 0 (off) to {MAX_CACHE_SIZE}"),
                    )
                })?,
        };
        Ok(Self {
            verifier,
            keys,
            authorized_parties,
            cache_size,
        })
    }
}

/// A JWKS URL: http(s) only.
fn jwks_url(text: &str) -> Result<reqwest::Url, SettingError> {
    reqwest::Url::parse(text.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| bad(JWKS_URL, "must be an http(s) URL"))
}

/// The allow-list: known JWS algorithms only, never `none`.
fn parse_algorithms(list: Option<&str>) -> Result<Vec<Algorithm>, SettingError> {
    let list = list.unwrap_or("").trim();
    if list.is_empty() {
        return Err(bad(ALGORITHMS, "required for jwt-cookie, e.g. RS256"));
    }
    let mut algorithms = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.eq_ignore_ascii_case("none") {
            return Err(bad(ALGORITHMS, "`none` is never accepted"));
        }
        let alg: Algorithm = name.parse().map_err(|_| {
            bad(
                ALGORITHMS,
                format!("unknown algorithm {name:?} (HS256/384/512, RS*, PS*, ES256/384, EdDSA)"),
            )
        })?;
        algorithms.push(alg);
    }
    Ok(algorithms)
}

/// `SESSION_JWT_KEY`: a PEM public key (`-----BEGIN`) for RS*/PS*/ES*/EdDSA,
/// or else an HMAC secret for HS*; the allow-list must match the key.
fn key_from_setting(value: &str, algorithms: &[Algorithm]) -> Result<KeyRing, SettingError> {
    if value.trim_start().starts_with("-----BEGIN") {
        let pem = value.trim().as_bytes();
        let key = DecodingKey::from_rsa_pem(pem)
            .or_else(|_| DecodingKey::from_ec_pem(pem))
            .or_else(|_| DecodingKey::from_ed_pem(pem))
            .map_err(|_| bad(KEY, "not an RSA, EC or Ed25519 public key in PEM"))?;
        let key = PublicKey::from_decoding_key(&key).map_err(|why| bad(KEY, why))?;
        // ES256 fits P-256 only, ES384 P-384 only.
        if let Some(alg) = algorithms.iter().find(|a| !key.fits(**a)) {
            let family = key.family();
            return Err(bad(
                ALGORITHMS,
                format!("{alg:?} does not fit the {family:?} public key in SESSION_JWT_KEY"),
            ));
        }
        return Ok(KeyRing::Pem(key));
    }
    if let Some(alg) = algorithms
        .iter()
        .find(|a| a.family() != AlgorithmFamily::Hmac)
    {
        return Err(bad(
            ALGORITHMS,
            format!("{alg:?} needs a PEM public key in SESSION_JWT_KEY or a JWKS, not a secret"),
        ));
    }
    // This secret alone vouches for the user, and a weak one can be guessed
    // offline from a single cookie: the refusals JWT_SECRET gets.
    if let Some(why) = crate::secret::weakness(value) {
        return Err(bad(
            KEY,
            format!("as an HMAC secret it {why} (whatever signs these cookies must use the same secret)"),
        ));
    }
    Ok(KeyRing::Secret(Secret::new(value.as_bytes())))
}

/// The `jwt-cookie` preset's [`Check`](crate::session::preset::Check).
pub fn check(config: &SessionConfig) -> Result<FormatSettings, SettingError> {
    JwtSettings::from_config(config).map(FormatSettings::new)
}

//! Token settings: `JWT_SECRET`, `JWT_KEYS`, `TOKEN_TTL`, `JWT_LEEWAY`, the
//! issuer and audience, and `ADMIN_API_KEY`.

use std::time::Duration;

use super::ops::read_duration;
use super::strength;
use super::vars::Vars;
use super::MAX_TTL;
use crate::env_var::EnvVar;
use crate::secret::Secret;
use crate::session::SessionConfig;
pub use crate::token::parse_duration;
use crate::token::{JwtConfig, JwtKey};

pub(super) fn read_jwt(vars: &mut Vars) -> Option<JwtConfig> {
    let keys = read_jwt_keys(vars);
    let (var, secret) = match (
        vars.get_secret("JWT_SECRET"),
        vars.get_secret("TEST_JWT_SECRET"),
    ) {
        (Some(s), _) => ("JWT_SECRET", Some(s)),
        (None, Some(s)) => ("TEST_JWT_SECRET", Some(s)),
        (None, None) => ("JWT_SECRET", None),
    };
    let plain = match secret {
        // With JWT_KEYS set, the plain secret still verifies (kid-less) tokens.
        Some(s) => vars.check(
            var,
            check_secret(&s).map(|_| JwtKey {
                kid: None,
                secret: Secret::new(s),
            }),
        ),
        None if keys.as_ref().is_some_and(Vec::is_empty) => {
            vars.fail(
                "JWT_SECRET",
                "not set; set JWT_SECRET (or TEST_JWT_SECRET) to the realtime server's secret, \
                 at least 32 bytes (e.g. `openssl rand -base64 48`), or run `realtime-token dev` to try it out",
            );
            None
        }
        None => None,
    };
    let ttl = match vars.get("TOKEN_TTL") {
        None => Some(Duration::from_secs(3600)),
        Some(t) => vars.check("TOKEN_TTL", parse_ttl(&t)),
    };
    let leeway = match vars.get("JWT_LEEWAY").as_deref() {
        None => Duration::from_secs(30),
        Some("0") => Duration::ZERO,
        Some(_) => read_duration(
            vars,
            "JWT_LEEWAY",
            Duration::from_secs(30),
            Duration::from_secs(300),
        ),
    };
    let issuer = vars.get("JWT_ISSUER");
    let audience = vars.get("JWT_AUDIENCE");
    let mut keys = keys?;
    keys.extend(plain);
    if keys.is_empty() {
        return None;
    }
    Some(JwtConfig {
        keys,
        leeway,
        issuer,
        audience,
        ttl: ttl?,
    })
}

/// `JWT_KEYS=kid1:secret1,kid2:secret2`, the first signs.
pub(super) fn read_jwt_keys(vars: &mut Vars) -> Option<Vec<JwtKey>> {
    let Some(list) = vars.get_secret("JWT_KEYS") else {
        return Some(Vec::new());
    };
    let mut keys: Vec<JwtKey> = Vec::new();
    for (i, entry) in list.split(',').filter(|e| !e.trim().is_empty()).enumerate() {
        let Some((kid, secret)) = entry.split_once(':') else {
            vars.fail("JWT_KEYS", format!("entry {} is not `kid:secret`; e.g. JWT_KEYS=2026-11:<secret>,2026-10:<old secret>", i + 1));
            return None;
        };
        let kid = kid.trim();
        if kid.is_empty()
            || kid.len() > 64
            || !kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            vars.fail(
                "JWT_KEYS",
                format!(
                    "key id `{}` must be 1-64 letters, digits, `._-`",
                    kid.escape_default()
                ),
            );
            return None;
        }
        if keys.iter().any(|k| k.kid.as_deref() == Some(kid)) {
            vars.fail("JWT_KEYS", format!("key id `{kid}` appears twice"));
            return None;
        }
        if let Err(e) = check_secret(secret) {
            vars.fail("JWT_KEYS", format!("the secret of `{kid}` {e}"));
            return None;
        }
        keys.push(JwtKey {
            kid: Some(kid.to_owned()),
            secret: Secret::new(secret),
        });
    }
    Some(keys)
}

/// A signing key or API key: long, varied, and free of surrounding whitespace.
pub(super) fn check_secret(secret: &str) -> Result<(), String> {
    strength::weakness(secret).map_or(Ok(()), Err)
}

/// `ADMIN_API_KEY` must differ from every other secret: one leaked value
/// must not open two doors.
pub(super) fn check_distinct_admin_key(
    vars: &mut Vars,
    admin: &Option<Secret>,
    jwt: &Option<JwtConfig>,
    session: &Option<SessionConfig>,
) {
    let Some(admin) = admin else { return };
    let jwt_keys = jwt.iter().flat_map(|j| j.keys.iter().map(|k| &k.secret));
    let session_secrets = session.iter().flat_map(|s| s.secrets.iter());
    if jwt_keys.chain(session_secrets).any(|s| s == admin) {
        vars.fail(
            "ADMIN_API_KEY",
            "equals the JWT secret or a session secret; use a value of its own (`openssl rand -base64 48`)",
        );
    }
}

/// Parses a token lifetime: plain seconds (`3600`) or units `s`, `m`, `h`,
/// `d`, possibly combined (`1h30m`). Between 1 second and 24 hours.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let hint = "use e.g. `1h`, `15m`, `90s` or `3600`";
    let ttl = parse_duration(text).ok_or_else(|| format!("`{text}` is not a duration; {hint}"))?;
    if ttl < Duration::from_secs(1) || ttl > MAX_TTL || ttl.subsec_millis() != 0 {
        return Err(format!(
            "`{text}` is outside 1s..24h in whole seconds; tokens are meant to be short-lived ({hint})"
        ));
    }
    Ok(ttl)
}

pub(super) fn read_admin_key(vars: &mut Vars) -> Option<Secret> {
    let key = vars.get_secret("ADMIN_API_KEY")?;
    vars.check(
        "ADMIN_API_KEY",
        check_secret(&key).map(|_| Secret::new(key)),
    )
}

/// The token-signing variables' rows of the reference.
pub(super) const TOKEN_VARS: &[EnvVar] = &[
    EnvVar::secret(
        "JWT_SECRET",
        "HS256 secret the realtime server verifies tokens with: raw UTF-8, at least 32 bytes and 8 \
         distinct characters (`openssl rand -base64 48`).",
    )
    .defaults_to("required (unless `TEST_JWT_SECRET` or `JWT_KEYS`)")
    .read_by(SIGNING),
    EnvVar::secret(
        "TEST_JWT_SECRET",
        "Read when `JWT_SECRET` is unset, so one `.env` serves this service and a self-hosted \
         realtime server.",
    )
    .read_by(SIGNING),
    EnvVar::secret(
        "JWT_KEYS",
        "Key rotation: `kid:secret,kid:secret`; the first signs (with `kid` in the header), all \
         verify; `JWT_SECRET`, if also set, still verifies tokens without `kid`.",
    )
    .read_by(SIGNING),
    EnvVar::plain(
        "JWT_LEEWAY",
        "Clock skew tolerated on `exp` and `nbf` by `verify` and the Rust verifier (up to `300s`).",
    )
    .defaults_to("`30s`")
    .read_by("`verify`, `TokenVerifier`"),
    EnvVar::plain(
        "JWT_ISSUER",
        "The `iss` claim; `verify` requires it when set.",
    )
    .read_by(SIGNING),
    EnvVar::plain(
        "JWT_AUDIENCE",
        "The `aud` claim; `verify` requires it when set.",
    )
    .read_by(SIGNING),
    EnvVar::plain(
        "TOKEN_TTL",
        "Token lifetime: `1h`, `15m`, `90s`, `3600`, `1h30m`; 1 s to 24 h.",
    )
    .defaults_to("`1h`")
    .read_by("token signing, `mint`"),
];

/// Who reads the signing settings.
const SIGNING: &str = "token signing, `mint`, `verify`";

/// `ADMIN_API_KEY`'s row of the reference.
pub(super) const ADMIN_VAR: EnvVar = EnvVar::secret(
    "ADMIN_API_KEY",
    "Enables `Authorization: Bearer <key>` minting for any subject; at least 32 bytes, and equal \
     to no other secret.",
)
.defaults_to("unset (off)")
.read_by("admin minting");

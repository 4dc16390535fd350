//! Token settings: `JWT_ALGORITHM`, `JWT_SECRET`, `JWT_KEYS` (the key files
//! of ES256/EdDSA in `jwt_keys.rs`), `TOKEN_TTL`, `JWT_LEEWAY`, the issuer
//! and audience, and `ADMIN_API_KEY`.

use std::time::Duration;

use super::jwt_keys::{check_kid, read_key_set, refuse_key_files, unused_secrets};
use super::strength;
use super::vars::{read_duration, Vars};
use super::MAX_TTL;
use crate::env_var::EnvVar;
use crate::secret::Secret;
use crate::session::SessionConfig;
pub use crate::token::parse_duration;
use crate::token::{JwtConfig, JwtKey, Signing, SigningAlgorithm, VerifyRules};

pub(super) fn read_jwt(vars: &mut Vars) -> Option<JwtConfig> {
    let algorithm = read_algorithm(vars);
    let mut unused = Vec::new();
    let signing = match algorithm {
        Some(SigningAlgorithm::HS256) => {
            refuse_key_files(vars);
            read_hmac_keys(vars).map(Signing::Hmac)
        }
        Some(alg) => {
            unused = unused_secrets(vars);
            read_key_set(vars, alg).map(Signing::Asymmetric)
        }
        None => None,
    };
    let ttl = match vars.get("TOKEN_TTL") {
        None => Some(Duration::from_secs(3600)),
        Some(t) => vars.check("TOKEN_TTL", parse_ttl(&t)),
    };
    let leeway = read_leeway(vars);
    Some(JwtConfig {
        signing: signing?,
        leeway,
        issuer: vars.get("JWT_ISSUER"),
        audience: vars.get("JWT_AUDIENCE"),
        ttl: ttl?,
        unused,
    })
}

/// `JWT_ALGORITHM`, HS256 when unset.
fn read_algorithm(vars: &mut Vars) -> Option<SigningAlgorithm> {
    match vars.get("JWT_ALGORITHM") {
        None => Some(SigningAlgorithm::HS256),
        Some(alg) => vars.check("JWT_ALGORITHM", alg.parse()),
    }
}

/// `JWT_LEEWAY`, 30 s when unset.
fn read_leeway(vars: &mut Vars) -> Duration {
    match vars.get("JWT_LEEWAY").as_deref() {
        None => Duration::from_secs(30),
        Some("0") => Duration::ZERO,
        Some(_) => read_duration(
            vars,
            "JWT_LEEWAY",
            Duration::from_secs(30),
            Duration::from_secs(300),
        ),
    }
}

/// What a verifier without the signing keys checks (`verify --jwks`).
pub(super) fn read_verify_rules(vars: &mut Vars) -> Option<VerifyRules> {
    Some(VerifyRules {
        algorithm: read_algorithm(vars)?,
        leeway: read_leeway(vars),
        issuer: vars.get("JWT_ISSUER"),
        audience: vars.get("JWT_AUDIENCE"),
    })
}

/// The HS256 keys: `JWT_KEYS`, then `JWT_SECRET` (or `TEST_JWT_SECRET`).
fn read_hmac_keys(vars: &mut Vars) -> Option<Vec<JwtKey>> {
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
    let mut keys = keys?;
    keys.extend(plain);
    (!keys.is_empty()).then_some(keys)
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
        if let Err(e) = check_kid(kid) {
            vars.fail("JWT_KEYS", e);
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
    let jwt_keys = jwt
        .iter()
        .flat_map(|j| j.hmac_keys().iter().map(|k| &k.secret));
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
    EnvVar::plain(
        "JWT_ALGORITHM",
        "How tokens are signed: `HS256` (the shared secret the SDK's server verifies), `ES256` or \
         `EdDSA` (a private key; verifiers use the public JWKS at `/.well-known/jwks.json`).",
    )
    .defaults_to("`HS256`")
    .read_by(SIGNING),
    EnvVar::plain(
        "JWT_PRIVATE_KEY_FILE",
        "`ES256` / `EdDSA`: the signing key, a PKCS#8 PEM (`openssl genpkey`, or \
         `realtime-token keygen`); its `kid` is its RFC 7638 thumbprint.",
    )
    .defaults_to("required with `ES256` / `EdDSA`")
    .read_by(SIGNING),
    EnvVar::plain(
        "JWT_KEY_ID",
        "`ES256` / `EdDSA`: the signing key's `kid`, instead of its thumbprint.",
    )
    .read_by(SIGNING),
    EnvVar::plain(
        "JWT_PUBLISHED_KEY_FILES",
        "`ES256` / `EdDSA`: more PEM keys (`[kid:]path`, comma-separated) whose public halves the \
         JWKS publishes too: the next key before it signs, the previous one until its tokens expire.",
    )
    .read_by("`/.well-known/jwks.json`"),
    EnvVar::secret(
        "JWT_SECRET",
        "HS256 secret the realtime server verifies tokens with: raw UTF-8, at least 32 bytes and 8 \
         distinct characters (`openssl rand -base64 48`).",
    )
    .defaults_to("required with `HS256` (unless `TEST_JWT_SECRET` or `JWT_KEYS`)")
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

//! [`JwtConfig`]: the token settings (`config` reads them from the
//! environment), and [`parse_duration`], the syntax of every duration
//! setting (`config`'s and the session backends' own).

use std::time::Duration;

use crate::secret::Secret;

/// Token signing settings.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// HS256 keys, the signing key first: `JWT_KEYS` (with key ids), then
    /// `JWT_SECRET` (or `TEST_JWT_SECRET`, without an id). Never empty.
    pub keys: Vec<JwtKey>,
    /// `JWT_LEEWAY`: clock skew tolerated on `exp` and `nbf` when verifying.
    pub leeway: Duration,
    /// `JWT_ISSUER`: the `iss` claim when set.
    pub issuer: Option<String>,
    /// `JWT_AUDIENCE`: the `aud` claim when set.
    pub audience: Option<String>,
    /// `TOKEN_TTL`: token lifetime, default one hour.
    pub ttl: Duration,
}

/// One HS256 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtKey {
    /// The `kid` header value, when the key has an id.
    pub kid: Option<String>,
    /// The secret: raw UTF-8 bytes, at least 32 of them.
    pub secret: Secret,
}

impl JwtConfig {
    /// The key new tokens are signed with.
    pub fn signing_key(&self) -> &JwtKey {
        &self.keys[0]
    }
}

/// Parses `3600` (seconds), `500ms`, `90s`, `15m`, `1h`, `2d` and sums like `1h30m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().map(Duration::from_secs);
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit_ms, len) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match rest.bytes().next()? {
                b's' => (1_000, 1),
                b'm' => (60_000, 1),
                b'h' => (3_600_000, 1),
                b'd' => (86_400_000, 1),
                _ => return None,
            }
        };
        rest = &rest[len..];
        total_ms = total_ms.checked_add(n.checked_mul(unit_ms)?)?;
    }
    Some(Duration::from_millis(total_ms))
}

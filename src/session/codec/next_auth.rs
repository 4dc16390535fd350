//! NextAuth.js v4 JWT sessions, read from `next-auth` 4.24 (`jwt/index.js`,
//! `core/lib/cookie.js`): the cookie `next-auth.session-token`
//! (`__Secure-next-auth.session-token` on HTTPS sites), possibly in chunks,
//! holds a JWE `dir` + `A256GCM` whose key is HKDF-SHA256 of the secret
//! with an empty salt and `NextAuth.js Generated Encryption Key` as info,
//! 32 bytes. Unlike Auth.js v5 the salt is not the cookie name and there is
//! no `kid`, so every secret is tried (v4 itself takes one secret).

use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use serde_json::Value;

use super::chunks;
use super::jwe::{self, Enc, Jwe};
use super::{ClaimsCodec, CodecAuthenticator};
use crate::metrics::CacheMetrics;
use crate::session::Reason;
use crate::session::{SessionAuthenticator, SessionConfig, SessionError};

/// `getDerivedEncryptionKey`'s info when the salt is empty, as it is for
/// the session cookie.
const INFO: &str = "NextAuth.js Generated Encryption Key";

/// The `next-auth` preset's [`Build`](crate::session::preset::Build).
pub fn build(
    config: &SessionConfig,
    _cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    let codec = NextAuth::new(
        &config.cookie_name,
        config.secrets.iter().map(|s| s.expose()),
    );
    Ok(CodecAuthenticator::shared(codec, config))
}

/// Reads and decrypts NextAuth.js v4 session cookies.
pub struct NextAuth {
    names: Vec<String>,
    // One A256GCM key per secret, newest first.
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for NextAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NextAuth({:?}, redacted keys)", self.names)
    }
}

impl NextAuth {
    /// The codec for session cookie `name` (and its `__Secure-` name)
    /// under any of `secrets`, newest first.
    pub fn new<'a>(name: &str, secrets: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            names: chunks::names(name),
            keys: secrets
                .into_iter()
                .map(|s| jwe::derive_key(s, "", INFO, Enc::A256Gcm.key_len()))
                .collect(),
        }
    }

    /// The claims in `token` as NextAuth.js v4's `decode` answers them at
    /// `now`. Only `A256GCM`, which is all v4's `encode` writes (jose alone
    /// would also take `A128CBC-HS256` with the same 32-byte key).
    pub fn open(&self, token: &str, now: u64) -> Result<Value, SessionError> {
        let jwe = Jwe::parse(token, &[Enc::A256Gcm])?;
        let plain = self.keys.iter().find_map(|key| jwe.decrypt(key)).ok_or(
            SessionError::Unauthenticated(Reason::BadSignature, "session token does not decrypt"),
        )?;
        jwe::claims(&plain, now)
    }
}

impl ClaimsCodec for NextAuth {
    fn decode(&self, headers: &HeaderMap, now_unix: u64) -> Result<Value, SessionError> {
        chunks::open_first(headers, &self.names, |_, token| self.open(token, now_unix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Written by next-auth 4.24.15's encode({token: {sub: "alice"}, secret:
    // SECRET, maxAge: 1e9}) at 1795912032.
    const SECRET: &str = "session-secret-new-0123456789abcdef";
    const TOKEN: &str = include_str!("testdata/next-auth.jwe");

    #[test]
    fn opens_what_next_auth_v4_encodes_and_nothing_else() {
        let now = 1_795_912_040;
        let token = TOKEN.trim();
        let codec = NextAuth::new(
            "next-auth.session-token",
            ["other-secret-0123456789abcdefgh", SECRET],
        );
        assert_eq!(codec.open(token, now).unwrap()["sub"], "alice");
        let other = NextAuth::new(
            "next-auth.session-token",
            ["other-secret-0123456789abcdefgh"],
        );
        assert!(other.open(token, now).is_err());
        assert!(codec.open(token, now + 1_000_000_016).is_err());
        // Auth.js v5's token is not a v4 token.
        let v5 = include_str!("testdata/authjs.jwe").trim();
        assert!(codec.open(v5, now).is_err());
    }
}

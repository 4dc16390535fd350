//! Auth.js v5 (`@auth/core`, `next-auth@5`) JWT sessions, read from
//! `@auth/core` 0.41 (`jwt.js`, `lib/utils/cookie.js`): the cookie
//! `authjs.session-token` (`__Secure-authjs.session-token` on HTTPS sites),
//! possibly in chunks, holds a JWE `dir` + `A256CBC-HS512` whose key is
//! HKDF-SHA256 of the secret with the cookie's full name as salt and
//! `Auth.js Generated Encryption Key (<salt>)` as info, 64 bytes. The
//! header's `kid` is the key's JWK thumbprint, which picks the secret among
//! several (rotation); without a `kid` only the newest secret is tried, as
//! Auth.js's `decode` does. `decode` also accepts `A256GCM` with a 32-byte
//! key from the same HKDF, which only `@auth/core` 0.20 to 0.22 wrote (in
//! 2023, for 30-day sessions); that is refused here.
//!
//! The shared JWE and chunk code lives in `jwe.rs` and `chunks.rs`;
//! NextAuth.js v4 (`next_auth.rs`) uses it with its own key.

use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use serde_json::Value;

use super::jwe::{self, Enc, Jwe};
use super::{chunks, ClaimsCodec, CodecAuthenticator};
use crate::metrics::CacheMetrics;
use crate::session::Reason;
use crate::session::{SessionAuthenticator, SessionConfig, SessionError};

/// The `authjs` preset's [`Build`](crate::session::preset::Build).
pub fn build(
    config: &SessionConfig,
    _cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    let codec = AuthJs::new(
        &config.cookie_name,
        config.secrets.iter().map(|s| s.expose()),
    );
    Ok(CodecAuthenticator::shared(codec, config))
}

/// One secret's `A256CBC-HS512` key for one salt (cookie name), with the
/// `kid` Auth.js writes for it.
struct Key {
    key: Vec<u8>,
    kid: String,
}

impl Key {
    fn derive(secret: &str, salt: &str) -> Self {
        let info = format!("Auth.js Generated Encryption Key ({salt})");
        let key = jwe::derive_key(secret, salt, &info, Enc::A256CbcHs512.key_len());
        Self {
            kid: jwe::thumbprint(&key),
            key,
        }
    }
}

/// Reads and decrypts Auth.js v5 session cookies.
pub struct AuthJs {
    names: Vec<String>,
    // Per name (the salt), one key per secret, newest first.
    keys: Vec<Vec<Key>>,
}

impl std::fmt::Debug for AuthJs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuthJs({:?}, redacted keys)", self.names)
    }
}

impl AuthJs {
    /// The codec for session cookie `name` (and its `__Secure-` name)
    /// under any of `secrets`, newest first.
    pub fn new<'a>(name: &str, secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let secrets: Vec<&str> = secrets.into_iter().collect();
        let names = chunks::names(name);
        let keys = names
            .iter()
            .map(|salt| secrets.iter().map(|s| Key::derive(s, salt)).collect())
            .collect();
        Self { names, keys }
    }

    /// The claims in `token` read from the cookie `self.names[name]`, as
    /// Auth.js's `decode` answers them at `now`.
    pub fn open(&self, name: usize, token: &str, now: u64) -> Result<Value, SessionError> {
        let jwe = Jwe::parse(token, &[Enc::A256CbcHs512])?;
        let key = self.keys[name]
            .iter()
            .find(|k| jwe.kid().is_none_or(|want| want == k.kid))
            .map(|k| k.key.as_slice())
            .ok_or(SessionError::Unauthenticated(
                Reason::BadSignature,
                "no secret matches the session token's kid",
            ))?;
        let plain = jwe.decrypt(key).ok_or(SessionError::Unauthenticated(
            Reason::BadSignature,
            "session token does not decrypt",
        ))?;
        jwe::claims(&plain, now)
    }
}

impl ClaimsCodec for AuthJs {
    fn decode(&self, headers: &HeaderMap, now_unix: u64) -> Result<Value, SessionError> {
        chunks::open_first(headers, &self.names, |name, token| {
            self.open(name, token, now_unix)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Written by @auth/core 0.41.3's encode({token: {sub: "alice"}, secret:
    // SECRET, salt: "authjs.session-token", maxAge: 1e9}) at 1795912032.
    const SECRET: &str = "session-secret-new-0123456789abcdef";
    const TOKEN: &str = include_str!("testdata/authjs.jwe");

    #[test]
    fn opens_what_auth_js_encodes_and_nothing_else() {
        let now = 1_795_912_040;
        let codec = AuthJs::new(
            "authjs.session-token",
            ["other-secret-0123456789abcdefgh", SECRET],
        );
        // Names are tried __Secure- first: index 1 is the plain name.
        assert_eq!(codec.open(1, TOKEN.trim(), now).unwrap()["sub"], "alice");
        // The salt is the cookie's name: the same token under the
        // __Secure- name does not open.
        assert!(codec.open(0, TOKEN.trim(), now).is_err());
        let other = AuthJs::new("authjs.session-token", ["other-secret-0123456789abcdefgh"]);
        assert!(other.open(1, TOKEN.trim(), now).is_err());
        assert!(codec.open(1, TOKEN.trim(), now + 1_000_000_016).is_err());
        // A NextAuth.js v4 token (A256GCM) is refused before decrypting.
        let v4 = include_str!("testdata/next-auth.jwe").trim();
        assert!(codec.open(1, v4, now).is_err());
    }
}

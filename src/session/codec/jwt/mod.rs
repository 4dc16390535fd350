//! The JWT family: `jwt-cookie` (any JWS session cookie: Clerk's
//! `__session`, a team's own) and what `supabase` shares with it. From the
//! ground up: `roca.rs` (weak RSA moduli), `jws_crypto.rs` (signatures, on
//! `ring`), `jwk.rs` (JWKS keys), `jws_claims.rs` (`exp` / `nbf` / `iss` /
//! `aud`, and [`Refusal`]), `jws.rs` (one token against a key ring),
//! `cookie.rs` (the settings and their start-up check), `jwt_cache.rs`
//! (verified tokens) and `jwks.rs` (the authenticator and its JWKS URL
//! cache); the preset's build is here.

use std::sync::Arc;

use crate::metrics::CacheMetrics;
use crate::session::{SessionAuthenticator, SessionConfig};

pub mod cookie;
mod jwk;
pub mod jwks;
pub mod jws;
mod jws_claims;
mod jws_crypto;
pub mod jwt_cache;
mod roca;

pub use cookie::{check, CacheBounds, Defaults, JwtSettings, KeySource, OPTIONS};
pub use jwks::JwtCookieAuthenticator;
pub use jws::{KeyRing, Lifetime, PublicKey, Refusal, Secret, Verified, Verifier, LEEWAY_SECS};

/// The `jwt-cookie` preset's [`Build`](crate::session::preset::Build).
pub fn build(
    config: &SessionConfig,
    cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    let settings: &JwtSettings = config.settings()?;
    Ok(Arc::new(JwtCookieAuthenticator::new(
        settings.clone(),
        config,
        cache,
    )?))
}

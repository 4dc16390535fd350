//! `realtime-token dev`: the settings it fills in.

use std::collections::HashMap;

use rand::RngCore as _;

use super::{Config, ConfigErrors, Lookup};
use crate::b64;

/// Settings that dev mode fills in when the environment leaves them unset.
pub struct DevDefaults {
    /// The overlay: variable → value.
    vars: HashMap<&'static str, String>,
    /// True when the JWT secret is ephemeral (nothing else can verify tokens).
    pub ephemeral_jwt_secret: bool,
}

impl DevDefaults {
    /// Random secrets and permissive-but-local defaults for `realtime-token
    /// dev`. It binds `host`, else 127.0.0.1, whatever `HOST` (or `.env`) says.
    pub fn generate(lookup: &dyn Fn(&str) -> Option<String>, host: Option<&str>) -> Self {
        let set = |k: &str| lookup(k).is_some_and(|v| !v.trim().is_empty());
        let mut vars = HashMap::new();
        // ES256/EdDSA sign with JWT_PRIVATE_KEY_FILE: no secret to invent.
        let asymmetric = lookup("JWT_ALGORITHM").is_some_and(|a| !matches!(a.trim(), "" | "HS256"));
        let ephemeral_jwt_secret =
            !asymmetric && !set("JWT_SECRET") && !set("TEST_JWT_SECRET") && !set("JWT_KEYS");
        if ephemeral_jwt_secret {
            vars.insert("JWT_SECRET", random_secret());
        }
        // Dev mode signs its own cookie, so it always owns the session settings.
        vars.insert("SESSION_BACKEND", "signed-cookie".into());
        vars.insert("SESSION_SECRET", random_secret());
        vars.insert("HOST", host.unwrap_or("127.0.0.1").into());
        for (k, v) in [
            ("REALTIME_ROOMS", "document-*,user-{sub}"),
            (
                "ALLOWED_ORIGINS",
                "http://localhost:3000,http://127.0.0.1:3000",
            ),
        ] {
            if !set(k) {
                vars.insert(k, v.into());
            }
        }
        Self {
            vars,
            ephemeral_jwt_secret,
        }
    }

    /// Reads the configuration with these defaults laid over `lookup`.
    pub fn config(&self, lookup: &Lookup) -> Result<Config, ConfigErrors> {
        Config::from_lookup(&|k| self.vars.get(k).cloned().or_else(|| lookup(k)))
    }
}

/// A random secret of 48 bytes, base64url-encoded (64 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut bytes);
    b64::url_encode(bytes)
}

//! Bearer-key minting for operators and backend jobs (`ADMIN_API_KEY`).

use actix_web::http::header;
use actix_web::HttpRequest;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::Secret;

/// The admin key, kept only as a SHA-256 digest so that comparing it takes
/// the same time whatever the presented key's length or prefix.
pub struct AdminKey {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminKey([redacted])")
    }
}

impl AdminKey {
    /// Keeps the digest of `key`.
    pub fn new(key: &Secret) -> Self {
        Self {
            digest: Sha256::digest(key.expose().as_bytes()).into(),
        }
    }

    /// True when `presented` is the key, compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.ct_eq(&self.digest).into()
    }
}

/// The key in `Authorization: Bearer <key>`, if the request has one.
/// Other schemes are ignored (the session decides).
pub fn bearer_key(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, key) = value.split_once(' ').unwrap_or((value, ""));
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
}

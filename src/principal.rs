//! [`Principal`]: who the caller is, as the room policy and the token see it.

use serde_json::{Map, Value};

/// Longest accepted subject, in bytes.
pub const MAX_SUB_LEN: usize = 256;

/// The authenticated caller: a subject and the session attributes the room
/// policy may read (e.g. `org`, `roles`).
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The user id that becomes the token's `sub`.
    pub sub: String,
    /// Attributes from the session, for policy templates and role grants.
    pub attributes: Map<String, Value>,
}

impl Principal {
    /// A principal with a checked subject: non-empty, at most
    /// [`MAX_SUB_LEN`] bytes, no control characters.
    pub fn new(
        sub: impl Into<String>,
        attributes: Map<String, Value>,
    ) -> Result<Self, &'static str> {
        let sub = sub.into();
        if sub.is_empty() {
            return Err("the subject is empty");
        }
        if sub.len() > MAX_SUB_LEN {
            return Err("the subject is too long");
        }
        if sub.chars().any(char::is_control) {
            return Err("the subject has control characters");
        }
        Ok(Self { sub, attributes })
    }
}

//! express-session's stored document (connect-redis, connect-pg-simple),
//! the default [`StoredDocument`] of the session-id stores.

use serde_json::Value;

use crate::session::mapping::parse_iso8601_utc;
use crate::session::store::StoredDocument;
use crate::session::{Reason, SessionError};

/// express-session's stored document (connect-redis, connect-pg-simple):
/// JSON whose `cookie.expires`, when set, must be in the future.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExpressDocument;

impl StoredDocument for ExpressDocument {
    fn open(&self, stored: &str, now_unix: u64) -> Result<Value, SessionError> {
        let doc: Value = serde_json::from_str(stored)
            .map_err(|_| SessionError::Unavailable("the stored session is not JSON".into()))?;
        match doc.pointer("/cookie/expires") {
            None | Some(Value::Null) => {}
            Some(Value::String(expires)) => match parse_iso8601_utc(expires) {
                Some(at) if at > now_unix => {}
                Some(_) => {
                    return Err(SessionError::Unauthenticated(
                        Reason::Expired,
                        "the session has expired",
                    ))
                }
                None => {
                    return Err(SessionError::Unauthenticated(
                        Reason::Malformed,
                        "the session's expiry is unreadable",
                    ))
                }
            },
            Some(_) => {
                return Err(SessionError::Unauthenticated(
                    Reason::Malformed,
                    "the session's expiry is unreadable",
                ))
            }
        }
        Ok(doc)
    }
}

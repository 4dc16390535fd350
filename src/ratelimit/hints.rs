//! Which session ids a store found live, and for whom: the subject last
//! found under each (and, for folded lookups, the session read then, to
//! compare). A remembered id is charged to its subject rather than to the
//! client's address (`folded.rs`, and `session::store` without folding).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::{Arc, Mutex};

/// The subject found last time under a session id, and the session then
/// (kept only by folded lookups, to compare); shared, not copied, per
/// request.
pub struct SubjectHint {
    pub(super) sub: String,
    pub(super) session: Option<String>,
}

impl SubjectHint {
    /// The subject.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    fn bytes(&self) -> usize {
        ENTRY_BYTES + self.sub.len() + self.session.as_ref().map_or(0, String::len)
    }
}

/// Bytes of sessions [`SubjectHints`] keeps before it starts over.
const HINTS_BYTES: usize = 4 << 20;

/// What one hint costs besides its strings (key, map slot, allocations).
const ENTRY_BYTES: usize = 128;

/// Sessions longer than this get no hint (the script compares them whole).
const HINT_MAX_SESSION: usize = 4096;

/// The hints of one store, by a digest of the session id (raw ids are not
/// kept as keys): which session ids were live, and for whom.
#[derive(Default)]
pub struct SubjectHints {
    map: Mutex<Hints>,
    /// The digest's two random keys (this process's own): 128 bits of
    /// keyed SipHash, not SHA-256, which cost a whole compression per
    /// request. Ids cannot be read back from it, nor collisions chosen; an
    /// accidental one (odds about n² / 2¹²⁹) would only charge a request to
    /// another subject's bucket, never issue it for that subject (the
    /// session is read and compared either way).
    keys: [RandomState; 2],
}

#[derive(Default)]
struct Hints {
    by_sid: HashMap<u128, Arc<SubjectHint>>,
    bytes: usize,
}

impl SubjectHints {
    /// The hint for `sid`, if any.
    pub fn get(&self, sid: &str) -> Option<Arc<SubjectHint>> {
        let hints = self.map.lock().unwrap_or_else(|e| e.into_inner());
        hints.by_sid.get(&self.digest(sid)).cloned()
    }

    /// Remembers that `session`, read under `sid` by a folded lookup, is
    /// `sub`'s.
    pub fn remember(&self, sid: &str, session: &str, sub: &str) {
        if session.len() > HINT_MAX_SESSION {
            return;
        }
        self.insert(sid, sub, Some(session.to_owned()));
    }

    /// Remembers that `sid` names a live session of `sub`.
    pub fn remember_subject(&self, sid: &str, sub: &str) {
        self.insert(sid, sub, None);
    }

    /// Forgets `sid` (its session is gone or no longer names anyone).
    pub fn forget(&self, sid: &str) {
        let mut hints = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = hints.by_sid.remove(&self.digest(sid)) {
            hints.bytes -= old.bytes();
        }
    }

    fn insert(&self, sid: &str, sub: &str, session: Option<String>) {
        let hint = SubjectHint {
            sub: sub.to_owned(),
            session,
        };
        let size = hint.bytes();
        let mut hints = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if hints.bytes + size > HINTS_BYTES {
            // A miss only costs a round trip, so starting over is enough.
            *hints = Hints::default();
        }
        hints.bytes += size;
        if let Some(old) = hints.by_sid.insert(self.digest(sid), Arc::new(hint)) {
            hints.bytes -= old.bytes();
        }
    }
}

impl SubjectHints {
    fn digest(&self, sid: &str) -> u128 {
        let [a, b] = &self.keys;
        u128::from(a.hash_one(sid)) << 64 | u128::from(b.hash_one(sid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_bounded_by_bytes_and_skip_large_sessions() {
        let hints = SubjectHints::default();
        hints.remember("sid-1", "{\"userId\":\"alice\"}", "alice");
        assert_eq!(
            hints.get("sid-1").map(|h| h.sub.clone()).as_deref(),
            Some("alice")
        );
        assert!(hints.get("sid-2").is_none());
        hints.remember("big", &"x".repeat(HINT_MAX_SESSION + 1), "bob");
        assert!(hints.get("big").is_none(), "too large to compare whole");
        // Filling the byte budget starts over.
        let session = "y".repeat(HINT_MAX_SESSION);
        for i in 0..HINTS_BYTES / HINT_MAX_SESSION {
            hints.remember(&format!("s{i}"), &session, "carol");
        }
        assert!(
            hints.get("sid-1").is_none(),
            "over the budget, the map starts over"
        );
        assert!(hints.map.lock().unwrap().bytes <= HINTS_BYTES);
    }

    #[test]
    fn forgotten_hints_give_their_bytes_back() {
        let hints = SubjectHints::default();
        hints.remember_subject("sid-1", "alice");
        assert_eq!(
            hints.get("sid-1").map(|h| h.sub().to_owned()).as_deref(),
            Some("alice")
        );
        assert!(hints.get("sid-1").is_some_and(|h| h.session.is_none()));
        hints.remember("sid-2", "{}", "bob");
        hints.forget("sid-1");
        hints.forget("never-seen");
        assert!(hints.get("sid-1").is_none());
        assert_eq!(hints.map.lock().unwrap().bytes, ENTRY_BYTES + "{}bob".len());
    }
}

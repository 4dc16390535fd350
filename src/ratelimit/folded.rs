//! Shared checks folded into a session lookup. When the session store and
//! the shared buckets are one Redis (a server or a Sentinel group, not a
//! cluster), the session `GET`, the client's bucket and the subject's
//! bucket run as one script: one round trip instead of three.
//!
//! The subject is not known before the session is read, so the store
//! keeps a [`SubjectHint`] per session id: the subject it found last time
//! and the session it read then. The script charges that subject's bucket
//! only when the session it reads is the same, byte for byte. Otherwise
//! (first sight, changed session) the subject's bucket is checked
//! afterwards, on its own ([`SubjectCheck`]), so every request is charged
//! to the subject it is issued for. Checks a lease (`lease.rs`) already
//! paid for stay out of the script, and so do those that the spares of a
//! trip under way for the same key pay for (the lookup waits for it); with
//! none left, the lookup is a plain `GET`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use redis::aio::ConnectionLike;
use sha2::{Digest as _, Sha256};

use super::lease::{Leases, Turn};
use super::shared::{bucket_key, gcra_lua};
use super::{bucket, rate_limited, ClientAddr, Rate, RateLimited, RateLimits};

/// KEYS = session, client bucket, subject bucket; ARGV = client interval
/// (µs, 0 = no check), burst, tokens wanted, the same for the subject, and
/// the session the subject's bucket is charged for. Returns {session or
/// nil, client tokens, client wait µs, subject tokens (-1 = not charged),
/// subject wait µs}.
const LOOKUP: &str = concat!(
    gcra_lua!(),
    r"
local cg, cw = 1, 0
local ci = tonumber(ARGV[1])
if ci > 0 then
  cg, cw = gcra(KEYS[2], ci, tonumber(ARGV[2]), tonumber(ARGV[3]), now)
  if cg == 0 then return {false, 0, cw, -1, 0} end
end
local session = redis.call('GET', KEYS[1])
local sg, sw = -1, 0
local si = tonumber(ARGV[4])
if session and si > 0 and session == ARGV[7] then
  sg, sw = gcra(KEYS[3], si, tonumber(ARGV[5]), tonumber(ARGV[6]), now)
end
return {session, cg, cw, sg, sw}
"
);

static SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(LOOKUP));

/// The subject found last time under a session id, and the session then;
/// shared, not copied, per request.
pub struct SubjectHint {
    sub: String,
    session: String,
}

/// Bytes of sessions [`SubjectHints`] keeps before it starts over.
const HINTS_BYTES: usize = 4 << 20;

/// Sessions longer than this get no hint (the script compares them whole).
const HINT_MAX_SESSION: usize = 4096;

/// The hints of one store, by a digest of the session id (raw ids are not
/// kept as keys).
#[derive(Default)]
pub struct SubjectHints {
    map: Mutex<Hints>,
}

#[derive(Default)]
struct Hints {
    by_sid: HashMap<[u8; 32], Arc<SubjectHint>>,
    bytes: usize,
}

impl SubjectHints {
    /// The hint for `sid`, if any.
    pub fn get(&self, sid: &str) -> Option<Arc<SubjectHint>> {
        let hints = self.map.lock().unwrap_or_else(|e| e.into_inner());
        hints.by_sid.get(&digest(sid)).cloned()
    }

    /// Remembers that `session`, read under `sid`, is `sub`'s.
    pub fn remember(&self, sid: &str, session: &str, sub: &str) {
        if session.len() > HINT_MAX_SESSION {
            return;
        }
        let size = session.len() + sub.len();
        let hint = SubjectHint {
            sub: sub.to_owned(),
            session: session.to_owned(),
        };
        let mut hints = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if hints.bytes + size > HINTS_BYTES {
            // A miss only costs a round trip, so starting over is enough.
            *hints = Hints::default();
        }
        hints.bytes += size;
        if let Some(old) = hints.by_sid.insert(digest(sid), Arc::new(hint)) {
            hints.bytes -= old.session.len() + old.sub.len();
        }
    }
}

fn digest(sid: &str) -> [u8; 32] {
    Sha256::digest(sid.as_bytes()).into()
}

/// The subject's check after a lookup: done inside it for the hinted
/// subject, or still to run.
#[derive(Debug)]
pub enum SubjectCheck {
    /// Not run yet.
    Pending,
    /// Run for `sub` inside the lookup.
    Done {
        /// The subject whose bucket was charged.
        sub: String,
        /// What its bucket said.
        result: Result<(), RateLimited>,
    },
}

impl SubjectCheck {
    /// Whether `sub`'s bucket was charged inside the lookup.
    pub fn done_for(&self, sub: &str) -> bool {
        matches!(self, Self::Done { sub: charged, .. } if charged == sub)
    }

    /// The subject's check: what the lookup found when it charged `sub`,
    /// else a check of its own.
    pub async fn finish(self, limits: &RateLimits, sub: &str) -> Result<(), RateLimited> {
        match self {
            Self::Done {
                sub: charged,
                result,
            } if charged == sub => result,
            _ => limits.check_subject(sub).await,
        }
    }
}

/// A bucket to charge in Redis.
struct Charge {
    key: String,
    rate: Rate,
}

impl Charge {
    fn new(kind: &str, key: &str, rate: Rate) -> Self {
        Self {
            key: bucket_key(kind, key),
            rate,
        }
    }

    /// Interval, burst and tokens wanted, for the script.
    fn args(&self) -> (u64, u32, u32) {
        (
            self.rate.interval_us(),
            self.rate.count,
            self.rate.lease_size(),
        )
    }

    /// Whether this charge still has to run, after any trip to Redis
    /// under way for its key (whose spares may pay for it); when it does,
    /// its turn joins `turns`.
    async fn still_due(&self, leases: &Leases, turns: &mut Vec<Turn>) -> bool {
        if self.rate.lease_size() == 1 {
            return true;
        }
        match leases.turn(&self.key).await {
            Some(turn) => {
                turns.push(turn);
                true
            }
            None => false,
        }
    }

    /// What the bucket said: tokens granted (spares kept as a lease) or
    /// the wait.
    fn outcome(&self, leases: &Leases, granted: u32, wait: u64) -> Result<(), RateLimited> {
        if granted == 0 {
            return Err(rate_limited(wait.max(1)));
        }
        leases.keep(&self.key, granted, self.rate.lease_size());
        Ok(())
    }
}

/// One request's shared checks, to run inside a session lookup; those a
/// lease already paid for are settled.
pub struct FoldedChecks {
    /// The client's bucket, unless unlimited or leased.
    client: Option<Charge>,
    /// The hinted subject's bucket, unless unlimited, unhinted or leased.
    subject: Option<(Charge, Arc<SubjectHint>)>,
    /// The hinted subject, when a lease paid for it.
    leased_subject: Option<String>,
    subjects_limited: bool,
    leases: Arc<Leases>,
}

/// What a folded lookup found.
pub struct FoldedLookup {
    /// The session, unless there is none (or the client was refused first).
    pub session: Option<String>,
    /// The client's bucket.
    pub client: Result<(), RateLimited>,
    /// The subject's bucket, when the hint held.
    pub subject: SubjectCheck,
    /// Whether subjects have a limit, so the store should remember the
    /// session's subject when the lookup did not charge it.
    pub hint_wanted: bool,
}

impl RateLimits {
    /// This request's shared checks for a store on the Redis `target`
    /// (see [`RedisConnections::target`](crate::redis_conn::RedisConnections::target)),
    /// when the shared buckets live there too; `None` when they do not.
    /// `hints` name the subject last found under session `sid`.
    pub fn fold(
        &self,
        target: Option<&[u8; 32]>,
        client: Option<ClientAddr>,
        sid: &str,
        hints: &SubjectHints,
    ) -> Option<FoldedChecks> {
        let shared = self.shared.as_ref()?;
        if target.is_none() || shared.connections.target() != target {
            return None;
        }
        let hint = self.per_subject.as_ref().and_then(|_| hints.get(sid));
        let leased =
            |charge: &Charge| charge.rate.lease_size() > 1 && shared.leases.take(&charge.key);
        let client = match (&self.per_client, client) {
            (Some((rate, _)), Some(ClientAddr(ip))) => {
                let key = bucket(ip, self.ipv6_prefix).to_string();
                Some(Charge::new("ip", &key, *rate)).filter(|c| !leased(c))
            }
            _ => None,
        };
        let (mut subject, mut leased_subject) = (None, None);
        if let (Some((rate, _)), Some(hint)) = (&self.per_subject, hint) {
            let charge = Charge::new("sub", &hint.sub, *rate);
            if leased(&charge) {
                leased_subject = Some(hint.sub.clone());
            } else {
                subject = Some((charge, hint));
            }
        }
        Some(FoldedChecks {
            client,
            subject,
            leased_subject,
            subjects_limited: self.per_subject.is_some(),
            leases: shared.leases.clone(),
        })
    }
}

impl FoldedChecks {
    /// `GET session_key` and the checks still to run, in one script on
    /// `conn` (a plain `GET` when leases settled them all).
    pub async fn run<C: ConnectionLike>(
        mut self,
        session_key: String,
        conn: &mut C,
    ) -> Result<FoldedLookup, redis::RedisError> {
        // Held until the spares are kept, so concurrent lookups spend them
        // (always the client's key before the subject's: no deadlock).
        let mut turns = Vec::new();
        if let Some(charge) = &self.client {
            if !charge.still_due(&self.leases, &mut turns).await {
                self.client = None;
            }
        }
        if let Some((charge, hint)) = &self.subject {
            if !charge.still_due(&self.leases, &mut turns).await {
                self.leased_subject = Some(hint.sub.clone());
                self.subject = None;
            }
        }
        let leased = self.leased_subject.map(|sub| SubjectCheck::Done {
            sub,
            result: Ok(()),
        });
        if self.client.is_none() && self.subject.is_none() {
            let session = redis::cmd("GET")
                .arg(&session_key)
                .query_async(conn)
                .await?;
            return Ok(FoldedLookup {
                session,
                client: Ok(()),
                subject: leased.unwrap_or(SubjectCheck::Pending),
                hint_wanted: self.subjects_limited,
            });
        }
        let none = (0, 0, 0);
        let (ci, cb, cw) = self.client.as_ref().map_or(none, Charge::args);
        let (si, sb, sw) = self.subject.as_ref().map_or(none, |(c, _)| c.args());
        let expected = self
            .subject
            .as_ref()
            .map_or("", |(_, h)| h.session.as_str());
        let mut invocation = SCRIPT.key(&session_key);
        let key_or_session = |c: Option<&Charge>| c.map_or(&session_key, |c| &c.key).clone();
        invocation
            .key(key_or_session(self.client.as_ref()))
            .key(key_or_session(self.subject.as_ref().map(|(c, _)| c)))
            .arg(ci)
            .arg(cb)
            .arg(cw)
            .arg(si)
            .arg(sb)
            .arg(sw)
            .arg(expected);
        type Reply = (Option<String>, u32, u64, i64, u64);
        let (session, client_granted, client_wait, subject_granted, subject_wait): Reply =
            invocation.invoke_async(conn).await?;
        let client = match &self.client {
            Some(charge) => charge.outcome(&self.leases, client_granted, client_wait),
            None => Ok(()),
        };
        let subject = match (self.subject, u32::try_from(subject_granted)) {
            (Some((charge, hint)), Ok(granted)) => SubjectCheck::Done {
                result: charge.outcome(&self.leases, granted, subject_wait),
                sub: hint.sub.clone(),
            },
            _ => leased.unwrap_or(SubjectCheck::Pending),
        };
        Ok(FoldedLookup {
            session,
            client,
            subject,
            hint_wanted: self.subjects_limited,
        })
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
}

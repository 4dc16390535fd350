//! Shared checks folded into a session lookup. When the session store and
//! the shared buckets are one Redis (a server or a Sentinel group, not a
//! cluster), the session `GET`, the client's bucket and the subject's
//! bucket run as one script: one round trip instead of three.
//!
//! The subject is not known before the session is read, so the store
//! keeps a [`SubjectHint`] per session id: the subject it found last time
//! and the SHA-1 of the session it read then. The script charges that
//! subject's bucket only when the session it reads has the same SHA-1,
//! i.e. is unchanged. Otherwise (first sight, changed session) the
//! subject's bucket is checked afterwards, on its own ([`SubjectCheck`]),
//! so every request is charged to the subject it is issued for.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use redis::aio::ConnectionLike;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

use super::shared::{bucket_key, gcra_lua};
use super::{bucket, rate_limited, ClientAddr, Rate, RateLimited, RateLimits};

/// KEYS = session, client bucket, subject bucket; ARGV = client interval
/// (µs, 0 = no check), burst, subject interval (0 = no check), burst, the
/// SHA-1 the session must have. Returns {session or nil, client wait µs,
/// subject wait µs or -1 when its bucket was not charged}.
const LOOKUP: &str = concat!(
    gcra_lua!(),
    r"
local ci = tonumber(ARGV[1])
if ci > 0 then
  local wait = gcra(KEYS[2], ci, tonumber(ARGV[2]), now)
  if wait > 0 then return {false, wait, -1} end
end
local session = redis.call('GET', KEYS[1])
local subject = -1
local si = tonumber(ARGV[3])
if session and si > 0 and redis.sha1hex(session) == ARGV[5] then
  subject = gcra(KEYS[3], si, tonumber(ARGV[4]), now)
end
return {session, 0, subject}
"
);

static SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(LOOKUP));

/// The subject found last time under a session id, and the SHA-1 (hex) of
/// the session then.
#[derive(Clone)]
pub struct SubjectHint {
    sub: String,
    sha1_hex: String,
}

/// How many session ids [`SubjectHints`] remembers before it starts over.
const HINTS_CAPACITY: usize = 10_000;

/// The hints of one store, by a digest of the session id (raw ids are not
/// kept as keys).
#[derive(Default)]
pub struct SubjectHints {
    map: Mutex<HashMap<[u8; 32], SubjectHint>>,
}

impl SubjectHints {
    /// The hint for `sid`, if any.
    pub fn get(&self, sid: &str) -> Option<SubjectHint> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&digest(sid)).cloned()
    }

    /// Remembers that `session`, read under `sid`, is `sub`'s.
    pub fn remember(&self, sid: &str, session: &str, sub: &str) {
        let hint = SubjectHint {
            sub: sub.to_owned(),
            sha1_hex: hex(&Sha1::digest(session.as_bytes())),
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= HINTS_CAPACITY {
            // A miss only costs a round trip, so starting over is enough.
            map.clear();
        }
        map.insert(digest(sid), hint);
    }
}

fn digest(sid: &str) -> [u8; 32] {
    Sha256::digest(sid.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

/// One request's shared checks, to run inside a session lookup.
pub struct FoldedChecks {
    client: Option<(String, Rate)>,
    subject: Option<(Rate, SubjectHint)>,
    /// Whether subjects have a limit (so hints are worth keeping).
    subjects_limited: bool,
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
    pub fn fold(
        &self,
        target: Option<&[u8; 32]>,
        client: Option<ClientAddr>,
        hint: Option<SubjectHint>,
    ) -> Option<FoldedChecks> {
        let shared = self.shared.as_ref()?;
        if target.is_none() || shared.connections.target() != target {
            return None;
        }
        let client = match (&self.per_client, client) {
            (Some((rate, _)), Some(ClientAddr(ip))) => Some((
                bucket_key("ip", &bucket(ip, self.ipv6_prefix).to_string()),
                *rate,
            )),
            _ => None,
        };
        let subject = match (&self.per_subject, hint) {
            (Some((rate, _)), Some(hint)) => Some((*rate, hint)),
            _ => None,
        };
        Some(FoldedChecks {
            client,
            subject,
            subjects_limited: self.per_subject.is_some(),
        })
    }
}

impl FoldedChecks {
    /// `GET session_key` and these checks, in one script on `conn`.
    pub async fn run<C: ConnectionLike>(
        self,
        session_key: String,
        conn: &mut C,
    ) -> Result<FoldedLookup, redis::RedisError> {
        let mut invocation = SCRIPT.key(&session_key);
        let (client_key, client_interval, client_burst) = match &self.client {
            Some((key, rate)) => (key.clone(), rate.interval_us(), rate.count),
            None => (session_key.clone(), 0, 0),
        };
        let (subject_key, subject_interval, subject_burst, sha1_hex) = match &self.subject {
            Some((rate, hint)) => (
                bucket_key("sub", &hint.sub),
                rate.interval_us(),
                rate.count,
                hint.sha1_hex.as_str(),
            ),
            None => (session_key.clone(), 0, 0, ""),
        };
        invocation
            .key(client_key)
            .key(subject_key)
            .arg(client_interval)
            .arg(client_burst)
            .arg(subject_interval)
            .arg(subject_burst)
            .arg(sha1_hex);
        let (session, client_wait, subject_wait): (Option<String>, u64, i64) =
            invocation.invoke_async(conn).await?;
        let subject = match (self.subject, u64::try_from(subject_wait)) {
            (Some((_, hint)), Ok(wait)) => SubjectCheck::Done {
                sub: hint.sub,
                result: if wait > 0 {
                    Err(rate_limited(wait))
                } else {
                    Ok(())
                },
            },
            _ => SubjectCheck::Pending,
        };
        Ok(FoldedLookup {
            hint_wanted: self.subjects_limited,
            session,
            client: if client_wait > 0 {
                Err(rate_limited(client_wait))
            } else {
                Ok(())
            },
            subject,
        })
    }
}

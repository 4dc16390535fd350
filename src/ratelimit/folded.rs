//! Shared checks folded into a session lookup. When the session store and
//! the shared buckets are one Redis (a server or a Sentinel group, not a
//! cluster), the session `GET` and the bucket it is charged to run as one
//! script: one round trip instead of two or three.
//!
//! Which bucket: a session id this replica has seen live, still stored,
//! is charged to its subject, not to the client's address; anything else
//! (no such session, a first sight) to the client's address, checked
//! before the `GET` when nothing is remembered. The subject is not known
//! before the session is read, so the store keeps a [`SubjectHint`] per
//! session id: the subject it found last time and the session it read
//! then. The script charges that subject only when the session it reads is
//! the same, byte for byte; otherwise (a changed session) the subject is
//! checked afterwards, on its own ([`SubjectCheck`]), so every request is
//! charged to the subject it is issued for. Checks a lease (`lease.rs`)
//! already paid for stay out of the script, and so do those that the
//! spares of a trip under way for the same key pay for (the lookup waits
//! for it); with none left, the lookup is a plain `GET`.

use std::sync::{Arc, LazyLock};

use redis::aio::ConnectionLike;

use super::hints::{SubjectHint, SubjectHints};
use super::lease::{Leases, Turn};
use super::shared::{bucket_key, gcra_lua};
use super::{bucket, rate_limited, Rate, RateLimited, RateLimits};
use crate::address::ClientAddr;

/// KEYS = session, client bucket, subject bucket; ARGV = client interval
/// (µs, 0 = no check), burst, tokens wanted, the same for the subject, and
/// the session remembered for this id ('' = none). A remembered id still
/// stored is not charged to the client; read unchanged, it is charged to
/// the subject (if ARGV[4] > 0). Any other lookup is charged to the client,
/// before the `GET` when nothing is remembered. Returns {session or nil
/// (nil when the client is refused), client tokens (-1 = not charged),
/// client wait µs, subject tokens (-1 = not charged), subject wait µs}.
const LOOKUP: &str = concat!(
    gcra_lua!(),
    r"
local session
local remembered = ARGV[7]
if remembered ~= '' then
  session = redis.call('GET', KEYS[1])
  if session then
    local si = tonumber(ARGV[4])
    if session == remembered and si > 0 then
      local sg, sw = gcra(KEYS[3], si, tonumber(ARGV[5]), tonumber(ARGV[6]), now)
      return {session, -1, 0, sg, sw}
    end
    return {session, -1, 0, -1, 0}
  end
end
local cg, cw = -1, 0
local ci = tonumber(ARGV[1])
if ci > 0 then
  cg, cw = gcra(KEYS[2], ci, tonumber(ARGV[2]), tonumber(ARGV[3]), now)
  if cg == 0 then return {false, 0, cw, -1, 0} end
end
if remembered == '' then session = redis.call('GET', KEYS[1]) end
return {session, cg, cw, -1, 0}
"
);

static SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(LOOKUP));

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
    /// The client's bucket, unless unlimited or (no hint) leased.
    client: Option<Charge>,
    /// The remembered session, if it can be compared.
    hint: Option<Arc<SubjectHint>>,
    /// The hinted subject's bucket, unless a lease paid for it.
    subject: Option<Charge>,
    subjects_limited: bool,
    leases: Arc<Leases>,
}

/// What a folded lookup found.
pub struct FoldedLookup {
    /// The session, unless there is none (or the client was refused first).
    pub session: Option<String>,
    /// The client's bucket; `None` when the session id was remembered and
    /// is still stored, so its subject pays instead (unless it turns out to
    /// name no one: then the client's bucket is still to check).
    pub client: Option<Result<(), RateLimited>>,
    /// The subject's bucket, when the remembered session was read again
    /// unchanged.
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
        let hint = self
            .per_subject
            .as_ref()
            .and_then(|_| hints.get(sid))
            .filter(|h| h.session.is_some());
        let leased =
            |charge: &Charge| charge.rate.lease_size() > 1 && shared.leases.take(&charge.key);
        // With a session to compare, the client's lease is left alone: the
        // request may well be charged to its subject.
        let client = match (&self.per_client, client) {
            (Some((rate, _)), Some(ClientAddr(ip))) => {
                let key = bucket(ip, self.ipv6_prefix).to_string();
                Some(Charge::new("ip", &key, *rate)).filter(|c| hint.is_some() || !leased(c))
            }
            _ => None,
        };
        let subject = match (&self.per_subject, &hint) {
            (Some((rate, _)), Some(hint)) => {
                Some(Charge::new("sub", &hint.sub, *rate)).filter(|c| !leased(c))
            }
            _ => None,
        };
        Some(FoldedChecks {
            client,
            hint,
            subject,
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
        if let Some(charge) = &self.subject {
            if !charge.still_due(&self.leases, &mut turns).await {
                self.subject = None;
            }
        }
        let hint = self.hint.as_deref();
        let remembered = hint.and_then(|h| h.session.as_deref()).unwrap_or("");
        let (session, client, subject) = if self.client.is_none() && self.subject.is_none() {
            let session: Option<String> = redis::cmd("GET")
                .arg(&session_key)
                .query_async(conn)
                .await?;
            (session, Ok(()), None)
        } else {
            let none = (0, 0, 0);
            let (ci, cb, cw) = self.client.as_ref().map_or(none, Charge::args);
            let (si, sb, sw) = self.subject.as_ref().map_or(none, Charge::args);
            let key_or_session = |c: Option<&Charge>| c.map_or(&session_key, |c| &c.key).clone();
            let mut invocation = SCRIPT.key(&session_key);
            invocation
                .key(key_or_session(self.client.as_ref()))
                .key(key_or_session(self.subject.as_ref()))
                .arg(ci)
                .arg(cb)
                .arg(cw)
                .arg(si)
                .arg(sb)
                .arg(sw)
                .arg(remembered);
            type Reply = (Option<String>, i64, u64, i64, u64);
            let (session, client_granted, client_wait, subject_granted, subject_wait): Reply =
                invocation.invoke_async(conn).await?;
            let charged = |charge: Option<&Charge>, granted: i64, wait: u64| {
                let granted = u32::try_from(granted).ok()?;
                Some(charge?.outcome(&self.leases, granted, wait))
            };
            let client = charged(self.client.as_ref(), client_granted, client_wait);
            let subject = charged(self.subject.as_ref(), subject_granted, subject_wait);
            (session, client.unwrap_or(Ok(())), subject)
        };
        let remembered_id = hint.is_some() && session.is_some();
        let same = remembered_id && session.as_deref() == Some(remembered);
        let subject = match hint {
            // Charged inside the script, or paid by a lease.
            Some(hint) if same => SubjectCheck::Done {
                sub: hint.sub.clone(),
                result: subject.unwrap_or(Ok(())),
            },
            _ => SubjectCheck::Pending,
        };
        let client = (!remembered_id).then_some(client);
        Ok(FoldedLookup {
            session,
            client,
            subject,
            hint_wanted: self.subjects_limited,
        })
    }
}

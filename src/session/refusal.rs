//! Why a request is "not logged in": a short code for the access log and
//! metrics, and the likely fix for the debug log. Neither ever holds the
//! cookie, a session id or a secret.

/// The kind of refusal behind a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No cookie of the configured name (or none with a value).
    NoCookie,
    /// No cookie of the configured name, but another format's session
    /// cookie (e.g. `authjs.session-token` under `SESSION_BACKEND=redis`).
    WrongCookieName,
    /// A signature, seal or key that does not match: another secret, a
    /// tampered cookie, or a key the service does not have.
    BadSignature,
    /// The session or token is past its expiry.
    Expired,
    /// A well-signed session id that names no stored session (logged out,
    /// deleted, expired in the store).
    UnknownSession,
    /// The app ended it: the password changed, the user is gone or
    /// inactive, the session was signed out.
    Ended,
    /// The cookie is not in the configured format (e.g. an Auth.js v5
    /// cookie under `next-auth`, a cookie another app wrote, or garbage).
    Malformed,
    /// A valid session with no subject where `SESSION_SUBJECT_POINTER`
    /// looks (or one that is not a usable subject).
    NoSubject,
    /// A bearer key that is not `ADMIN_API_KEY`.
    BadAdminKey,
}

impl Reason {
    /// The stable code, as logged (`reason=bad_signature`).
    pub const fn code(self) -> &'static str {
        match self {
            Self::NoCookie => "no_cookie",
            Self::WrongCookieName => "wrong_cookie_name",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::UnknownSession => "unknown_session",
            Self::Ended => "ended",
            Self::Malformed => "malformed",
            Self::NoSubject => "no_subject",
            Self::BadAdminKey => "bad_admin_key",
        }
    }

    /// The likely fix when every request gets this (for the debug log).
    pub const fn hint(self) -> &'static str {
        match self {
            Self::NoCookie => {
                "check SESSION_COOKIE against the name your app sets, and that the browser \
                 sends it here (same site, credentials: 'include', the cookie's Path and Domain)"
            }
            Self::WrongCookieName => {
                "the request carries another framework's session cookie: check SESSION_BACKEND \
                 and SESSION_COOKIE"
            }
            Self::BadSignature => {
                "check that SESSION_SECRET (or the format's key) is exactly your app's secret, \
                 newest first; in .env, single-quote values that contain $"
            }
            Self::Expired => "log in again; if fresh sessions expire, compare the clocks",
            Self::UnknownSession => {
                "the session is not in the store: check the store settings (prefix, table, \
                 database) match your app's, or the user logged out"
            }
            Self::Ended => "the app ended this session (logout, password change, user removed)",
            Self::Malformed => {
                "check SESSION_BACKEND (and the engine or version) matches what your app writes"
            }
            Self::NoSubject => "check SESSION_SUBJECT_POINTER against the session's content",
            Self::BadAdminKey => "send ADMIN_API_KEY as the bearer token",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case() {
        let all = [
            Reason::NoCookie,
            Reason::WrongCookieName,
            Reason::BadSignature,
            Reason::Expired,
            Reason::UnknownSession,
            Reason::Ended,
            Reason::Malformed,
            Reason::NoSubject,
            Reason::BadAdminKey,
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), all.len());
        for code in codes {
            assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }
}

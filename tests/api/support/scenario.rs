//! The scenario every session format is tested with: the cookie its real
//! library wrote for a logged-in user yields a token for that user, and
//! every forgery (tampered, expired, another secret, another name, ...), a
//! session without a user, a cookie of another name and no cookie at all
//! yield 401 `unauthenticated` and no token.

use realtime_token::Claims;

use super::{expect_error, expect_token, TestApp};

/// One format's accept/refuse cases, for [`accept_refuse`].
pub struct Cases<'a> {
    /// The Cookie header the real library wrote for a logged-in user.
    pub good: &'a str,
    /// The subject the token for `good` names.
    pub sub: &'a str,
    /// Rooms that token carries (granted from the session's attributes).
    pub rooms: &'a [&'a str],
    /// Cookie headers refused with 401 `unauthenticated`.
    pub refused: Vec<String>,
    /// A session the library wrote without a user, and text of it that
    /// the 401's message must not echo.
    pub no_user: Option<(&'a str, &'a str)>,
}

/// Runs `cases` against `app`; the claims of the token for `good`.
pub async fn accept_refuse(app: &TestApp, cases: Cases<'_>) -> Claims {
    let (_, claims) = expect_token(app.post_token(Some(cases.good)).await).await;
    assert_eq!(claims.sub, cases.sub, "the subject of the good cookie");
    for room in cases.rooms {
        assert!(
            claims.permissions.rooms.iter().any(|r| r == room),
            "{room} in {:?}",
            claims.permissions.rooms
        );
    }
    for (i, cookie) in cases.refused.iter().enumerate() {
        let res = app.post_token(Some(cookie)).await;
        assert_eq!(res.status(), 401, "refused case {i}: {cookie:.80}");
        expect_error(res, 401, "unauthenticated").await;
    }
    if let Some((cookie, private)) = cases.no_user {
        let msg = expect_error(app.post_token(Some(cookie)).await, 401, "unauthenticated").await;
        assert!(!msg.contains(private), "{msg}");
    }
    // Only the session cookie counts: another cookie, or none, is no session.
    app.expect_unauthenticated("other=1").await;
    expect_error(app.post_token(None).await, 401, "unauthenticated").await;
    claims
}

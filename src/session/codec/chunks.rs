//! Session cookies split into chunks, as Auth.js's and NextAuth.js v4's
//! `SessionStore` write them: a value longer than 3936 characters (4096
//! less an estimated 160 for the attributes) becomes `<name>.0`,
//! `<name>.1`, ... and is read back by joining the chunks in index order.
//!
//! Their reader takes every cookie whose name merely *starts with* the
//! session cookie's name and sorts by `parseInt` of the text after the last
//! dot. This one is stricter: only `<name>` and `<name>.<index>` count, and
//! the indexes must run from 0 without a gap. Anything the libraries would
//! join differently fails their decryption anyway.

use std::collections::BTreeMap;

use actix_web::http::header::HeaderMap;

use crate::session::cookies::cookies;
use crate::session::Reason;
use crate::session::SessionError;

/// Most chunks read: 16 × 4 KiB is past any proxy's header limit.
pub const MAX_CHUNKS: usize = 16;

/// The session value stored under cookie `name` in `headers`: the chunks
/// joined when there are any (a leftover unchunked cookie is one Auth.js
/// deletes when it writes chunks), otherwise the cookie itself. Empty
/// values are skipped, as the libraries skip them, and the first cookie of
/// a name wins. `Ok(None)` when there is neither.
pub fn session_value(headers: &HeaderMap, name: &str) -> Result<Option<String>, SessionError> {
    let mut whole = None;
    let mut chunks = BTreeMap::new();
    for cookie in cookies(headers) {
        if cookie.value().is_empty() {
            continue;
        }
        let Some(rest) = cookie.name().strip_prefix(name) else {
            continue;
        };
        if rest.is_empty() {
            whole.get_or_insert_with(|| cookie.value().to_owned());
            continue;
        }
        let Some(index) = rest.strip_prefix('.').and_then(chunk_index) else {
            continue;
        };
        if index >= MAX_CHUNKS {
            return Err(SessionError::Unauthenticated(
                Reason::Malformed,
                "session cookie has too many chunks",
            ));
        }
        chunks
            .entry(index)
            .or_insert_with(|| cookie.value().to_owned());
    }
    if chunks.is_empty() {
        return Ok(whole);
    }
    if chunks.keys().copied().ne(0..chunks.len()) {
        return Err(SessionError::Unauthenticated(
            Reason::Malformed,
            "session cookie chunks are incomplete",
        ));
    }
    Ok(Some(chunks.into_values().collect()))
}

/// The cookie names a session may be under, most trusted first: the
/// `__Secure-` name the libraries use on HTTPS sites, then `name` itself
/// (unless `name` has a prefix, which is then the only one).
pub fn names(name: &str) -> Vec<String> {
    if name.starts_with("__Secure-") || name.starts_with("__Host-") {
        vec![name.to_owned()]
    } else {
        vec![format!("__Secure-{name}"), name.to_owned()]
    }
}

/// `open` applied to the session token under the first of `names` that is
/// present: that cookie alone decides, so a plain-name cookie (which needs
/// no `Secure` attribute and can be planted by a network attacker or a
/// sibling subdomain) never wins over the `__Secure-` one, as the libraries
/// on HTTPS read only the latter. The plain name is still read when it is
/// the only one, as an app moved from HTTP to HTTPS keeps its old cookie
/// until it expires.
pub fn open_first<T>(
    headers: &HeaderMap,
    names: &[String],
    mut open: impl FnMut(usize, &str) -> Result<T, SessionError>,
) -> Result<T, SessionError> {
    for (i, name) in names.iter().enumerate() {
        if let Some(token) = session_value(headers, name)? {
            return open(i, &token);
        }
    }
    Err(SessionError::Unauthenticated(
        Reason::NoCookie,
        "no session cookie",
    ))
}

/// A chunk's index: decimal digits only (no sign, no spaces).
fn chunk_index(text: &str) -> Option<usize> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::COOKIE;

    fn read(header: &str) -> Result<Option<String>, SessionError> {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, header.parse().unwrap());
        session_value(&headers, "t")
    }

    #[test]
    fn joins_chunks_in_index_order() {
        assert_eq!(read("t=abc").unwrap().as_deref(), Some("abc"));
        assert_eq!(read("t.1=b; t.0=a; t.2=c").unwrap().as_deref(), Some("abc"));
        assert_eq!(read("t.1=b; t.0=a; t=x").unwrap().as_deref(), Some("ab"));
        assert_eq!(
            read("t.0=a; t.10=k; t.1=b; t.2=c; t.3=d; t.4=e; t.5=f; t.6=g; t.7=h; t.8=i; t.9=j")
                .unwrap()
                .as_deref(),
            Some("abcdefghijk")
        );
        assert_eq!(read("t=; t.0=a; t.0=z").unwrap().as_deref(), Some("a"));
        assert_eq!(read("tx=a; t.x=b; t.-1=c; other=d").unwrap(), None);
    }

    #[test]
    fn the_secure_name_when_present_is_the_only_one_read() {
        assert_eq!(names("t"), ["__Secure-t", "t"]);
        assert_eq!(names("__Secure-t"), ["__Secure-t"]);
        assert_eq!(names("__Host-t"), ["__Host-t"]);
        let open = |_: usize, token: &str| match token {
            "good" => Ok(token.to_owned()),
            _ => Err(SessionError::Unauthenticated(Reason::Malformed, "bad")),
        };
        let read = |header: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(COOKIE, header.parse().unwrap());
            open_first(&headers, &names("t"), open)
        };
        assert_eq!(read("t=bad; __Secure-t=good").unwrap(), "good");
        assert_eq!(read("t=good").unwrap(), "good");
        // A plain-name cookie never stands in for a __Secure- one that is
        // there, in either order, whole or chunked.
        assert!(read("__Secure-t=bad; t=good").is_err());
        assert!(read("t=good; __Secure-t=bad").is_err());
        assert!(read("t=good; __Secure-t.0=ba; __Secure-t.1=d").is_err());
        assert!(read("t=good; __Secure-t.1=d").is_err());
        assert!(read("other=good").is_err());
    }

    #[test]
    fn refuses_gaps_and_floods() {
        assert!(read("t.0=a; t.2=c").is_err());
        assert!(read("t.1=b").is_err());
        assert!(read("t.16=b").is_err());
    }
}

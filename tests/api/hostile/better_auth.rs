//! Hostile `better-auth` cookies: unsigned, wrong or misshapen signatures
//! (valid base64 but wrong, wrong padding, non-canonical base64, another
//! session's signature on a token that is in the table), percent-encoding
//! messes, oversized tokens. Each must be a 401 `unauthenticated` (never a
//! token, never a 5xx) and the service must keep serving.
//!
//! Whether a request reached PostgreSQL is not visible in `/metrics` (the
//! session-lookup histogram counts every authentication, refused before
//! the store or not), so the second app's `DATABASE_URL` is a closed port:
//! there a lookup is a 503, and a hostile cookie that is still a 401 was
//! refused without one.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::formats::values;
use super::refused;
use crate::support::*;

const NAME: &str = "better-auth.session_token";
const SCHEMA: &str = "rt_better_auth";

/// better-call's signature of `value`: standard padded base64 of
/// HMAC-SHA256 keyed with the secret's bytes.
fn signature(secret: &str, value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(value.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// What `encodeURIComponent` leaves alone in a token or signature.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'!' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn cookie(token: &str, sig: &str) -> String {
    format!("{NAME}={}.{}", encode(token), encode(sig))
}

/// The hostile cookies for a session whose token is `token` (in the table)
/// and whose real signature is `sig`, and `other`'s token and signature.
/// `signed` ones carry a valid signature and are refused for their shape.
fn cases(token: &str, sig: &str, other: (&str, &str)) -> Vec<(String, String)> {
    let zero = base64::engine::general_purpose::STANDARD.encode([0u8; 32]);
    // The same 32 bytes with the last character's unused low bits set:
    // a lenient decoder reads the real MAC, better-call's text differs.
    let mut loose = sig.as_bytes().to_vec();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let at = alphabet
        .iter()
        .position(|c| *c == loose[42])
        .expect("base64");
    loose[42] = alphabet[at | 0b11];
    let loose = String::from_utf8(loose).unwrap();
    let url_safe = sig.replace('+', "-").replace('/', "_");
    let signed = |value: &str| cookie(value, &signature(SESSION_SECRET, value));
    let mut list = vec![
        ("bare token (in the table)", format!("{NAME}={token}")),
        ("token and a dot", format!("{NAME}={token}.")),
        ("zero MAC, valid base64", cookie(token, &zero)),
        (
            "other secret",
            cookie(token, &signature(OLD_SESSION_SECRET, token)),
        ),
        ("other session's signature", cookie(token, other.1)),
        (
            "signature unpadded",
            cookie(token, sig.trim_end_matches('=')),
        ),
        ("signature double-padded", cookie(token, &format!("{sig}="))),
        (
            "signature with = inside",
            cookie(token, &format!("{}={}", &sig[..20], &sig[21..])),
        ),
        ("signature cut", cookie(token, &sig[..40])),
        ("signature doubled", cookie(token, &format!("{sig}{sig}"))),
        (
            "signature URL-safe",
            cookie(token, &format!("{}{}", &url_safe[..43], "=")),
        ),
        ("signature, non-canonical last char", cookie(token, &loose)),
        ("signature in hex", cookie(token, &"ab".repeat(32))),
        ("signature on the token's tail", cookie(&token[1..], sig)),
        (
            "two signatures",
            format!("{}.{}", cookie(token, sig), encode(other.1)),
        ),
        (
            "percent: a lone %",
            format!("{NAME}={token}%.{}", encode(sig)),
        ),
        ("percent: %zz", format!("{NAME}=%zz{token}.{}", encode(sig))),
        (
            "percent: double-encoded",
            format!("{NAME}={token}.{}", encode(&encode(sig))),
        ),
        (
            "percent: NUL in the token",
            format!("{NAME}={token}%00.{}", encode(sig)),
        ),
        (
            "percent: invalid UTF-8",
            format!("{NAME}=%C3%28{token}.{}", encode(sig)),
        ),
        (
            "percent: all of it",
            format!("{NAME}={}", "%25".repeat(2000)),
        ),
        ("oversized token", cookie(&"A".repeat(4000), sig)),
        ("oversized, signed", signed(&"A".repeat(3000))),
        ("257-byte token, signed", signed(&"B".repeat(257))),
        ("control character, signed", signed(&format!("{token}\n"))),
        ("empty token, signed", signed("")),
        (
            "secure cookie hostile, plain good",
            format!("__Secure-{NAME}={token}; {}", cookie(token, sig)),
        ),
    ];
    if url_safe == sig {
        list.retain(|(name, _)| *name != "signature URL-safe");
    }
    let mut out: Vec<(String, String)> = list.into_iter().map(|(n, c)| (n.to_owned(), c)).collect();
    out.push(("other's token, this signature".into(), cookie(other.0, sig)));
    out.extend(
        values(NAME)
            .into_iter()
            .map(|c| (c.chars().take(40).collect(), c)),
    );
    out
}

#[tokio::test]
async fn hostile_better_auth_cookies_are_401_and_a_bad_signature_never_reaches_the_database() {
    let email = |tag: &str| format!("{}@example.com", unique(tag));
    let answer = node_writer(
        "better-auth",
        &["better-auth", "pg"],
        &json!({"database_url": database_url(), "schema": SCHEMA, "cases": [
            {"secret": SESSION_SECRET, "email": email("hostile-a")},
            {"secret": SESSION_SECRET, "email": email("hostile-b")},
        ]}),
    );
    let written = cookies(&answer);
    let split = |c: &str| -> (String, String) {
        let value = c
            .strip_prefix(&format!("{NAME}="))
            .expect("the plain cookie name");
        let (token, sig) = value.rsplit_once('.').expect("signed");
        let sig = sig
            .replace("%2B", "+")
            .replace("%2F", "/")
            .replace("%3D", "=");
        (token.to_owned(), sig)
    };
    let (token, sig) = split(&written[0]);
    let other = split(&written[1]);
    assert_eq!(
        sig,
        signature(SESSION_SECRET, &token),
        "better-call's signature"
    );
    let cases = cases(&token, &sig, (&other.0, &other.1));
    let good = &written[0];

    let url = database_url();
    let table = format!("{SCHEMA}.session");
    let base = [
        ("SESSION_BACKEND", "better-auth"),
        ("SESSION_PG_TABLE", table.as_str()),
        ("RATE_LIMIT_IP", "off"),
        ("RATE_LIMIT_SUBJECT", "off"),
    ];
    let app = spawn_app_with(&[&base[..], &[("DATABASE_URL", url.as_str())]].concat()).await;
    expect_token(app.post_token(Some(good)).await).await;
    let mut failures = refused(&app, "database", &cases, good, 200).await;

    // Nothing listens on `closed`: a lookup fails at once with a 503.
    let closed = format!("postgres://postgres@127.0.0.1:{}/test", free_port());
    let settings = [
        ("DATABASE_URL", closed.as_str()),
        ("SESSION_LOOKUP_TIMEOUT", "2s"),
    ];
    let offline = spawn_app_with(&[&base[..], &settings[..]].concat()).await;
    // The control: a well-signed cookie goes to the store, and gets 503.
    expect_error(
        offline.post_token(Some(good)).await,
        503,
        "session_backend_unavailable",
    )
    .await;
    let unsigned = format!(
        "{NAME}={}",
        encode(&format!("{token}.{}", signature(SESSION_SECRET, "absent")))
    );
    let mut offline_cases = cases.clone();
    offline_cases.push(("a signature of another value".into(), unsigned));
    failures.extend(refused(&offline, "closed database", &offline_cases, good, 503).await);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

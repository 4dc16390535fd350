//! The table of hostile requests and what each must get.

use realtime_token::session::{codec::CookieSigner, cookies::percent_encode};

use super::{Case, Expect::*};
use crate::support::*;

/// A raw HTTP/1.1 request; `Content-Length` is added unless a header sets it
/// or chunked encoding is used.
pub(super) fn raw(method: &str, headers: &[(&str, Vec<u8>)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{method} /api/realtime-token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    )
    .into_bytes();
    let mut has_length = false;
    for (name, value) in headers {
        has_length |= name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if !has_length && (!body.is_empty() || method == "POST") {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

pub(super) fn cookie(value: &str) -> (&'static str, Vec<u8>) {
    ("Cookie", value.as_bytes().to_vec())
}

pub(super) fn json_body() -> (&'static str, Vec<u8>) {
    ("Content-Type", b"application/json".to_vec())
}

pub(super) fn signed(signer: &CookieSigner, value: &str) -> String {
    format!("session={}", percent_encode(&signer.sign(value)))
}

pub(super) fn cases() -> Vec<Case> {
    let signer = CookieSigner::new([SESSION_SECRET]);
    let removed = CookieSigner::new(["a-secret-that-was-removed-0123456789"]);
    let good = signed(&signer, "alice");
    let post = |headers: &[(&str, Vec<u8>)], body: &[u8]| raw("POST", headers, body);
    let with_good = |body: &str| post(&[cookie(&good), json_body()], body.as_bytes());
    let sig_of_alice = good.rsplit('.').next().unwrap().to_owned();
    let thousand: String = (0..1000).map(|i| format!("c{i}=v{i}; ")).collect();
    let deep = format!(
        "j:{{\"sub\":\"a\",\"x\":{}{}}}",
        "[".repeat(1500),
        "]".repeat(1500)
    );
    let unauth = Reject(401, Some("unauthenticated"));
    let bad_request = Reject(400, Some("invalid_request"));
    vec![
        // Cookies.
        Case {
            name: "empty cookie",
            request: post(&[cookie("session=")], b""),
            expect: unauth,
        },
        Case {
            name: "unsigned value",
            request: post(&[cookie("session=alice")], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "s: without signature",
            request: post(&[cookie("session=s%3Aalice")], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "wrongly signed",
            request: post(
                &[cookie(&format!("session=s%3Amallory.{sig_of_alice}"))],
                b"",
            ),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "signed with a removed secret",
            request: post(&[cookie(&signed(&removed, "alice"))], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "truncated signature",
            request: post(&[cookie(&good[..good.len() - 3])], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "signature not base64",
            request: post(
                &[cookie(&format!("session=s%3Aalice.{}", "!".repeat(43)))],
                b"",
            ),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "bad percent-encoding",
            request: post(&[cookie("session=s%3Aalice.%ZZ%")], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "percent-encoded non-UTF-8",
            request: post(&[cookie("session=s%3A%FF%FE.abc")], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "NUL byte in the cookie",
            request: post(&[("Cookie", b"session=s:al\0ice.x".to_vec())], b""),
            expect: Reject(400, None),
        },
        Case {
            name: "control byte in the cookie",
            request: post(&[("Cookie", b"session=s:al\x01ice.x".to_vec())], b""),
            expect: Reject(400, None),
        },
        Case {
            name: "non-UTF-8 cookie header",
            request: post(&[("Cookie", b"session=s:\xff\xfe.x".to_vec())], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "16 KiB cookie",
            request: post(
                &[cookie(&format!(
                    "session=s%3A{}.{sig_of_alice}",
                    "a".repeat(16 * 1024)
                ))],
                b"",
            ),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "duplicate cookie, forged first",
            request: post(&[cookie(&format!("session=s%3Amallory.x; {good}"))], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "two Cookie headers, forged first",
            request: post(&[cookie("session=forged"), cookie(&good)], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "a thousand cookies",
            request: post(&[cookie(&thousand)], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        // JSON cookies.
        Case {
            name: "j: sub of the wrong type",
            request: post(&[cookie(&signed(&signer, r#"j:{"sub":["alice"]}"#))], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "j: deep nesting",
            request: post(&[cookie(&signed(&signer, &deep))], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "j: huge number",
            request: post(
                &[cookie(&signed(&signer, r#"j:{"sub":"a","org":1e999}"#))],
                b"",
            ),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "j: missing sub",
            request: post(&[cookie(&signed(&signer, r#"j:{"org":"acme"}"#))], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "j: empty sub",
            request: post(&[cookie(&signed(&signer, r#"j:{"sub":""}"#))], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "j: not an object",
            request: post(&[cookie(&signed(&signer, r#"j:"alice""#))], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "j: sub with a newline",
            request: post(&[cookie(&signed(&signer, "j:{\"sub\":\"a\\nb\"}"))], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        // Subjects and attributes built to widen a template.
        Case {
            name: "sub *",
            request: post(&[cookie(&signed(&signer, "*"))], b""),
            expect: Rooms(&["document-*"]),
        },
        Case {
            name: "sub with a comma",
            request: post(&[cookie(&signed(&signer, "a,b"))], b""),
            expect: Rooms(&["document-*"]),
        },
        Case {
            name: "sub ending in *",
            request: post(&[cookie(&signed(&signer, "x*"))], b""),
            expect: Rooms(&["document-*"]),
        },
        Case {
            name: "attribute ../",
            request: post(
                &[cookie(&signed(
                    &signer,
                    r#"j:{"sub":"al","org":"../admin"}"#,
                ))],
                b"",
            ),
            expect: Rooms(&["document-*", "user-al"]),
        },
        Case {
            name: "attribute *",
            request: post(
                &[cookie(&signed(&signer, r#"j:{"sub":"al","org":"*"}"#))],
                b"",
            ),
            expect: Rooms(&["document-*", "user-al"]),
        },
        Case {
            name: "unicode look-alike attribute",
            request: post(
                &[cookie(&signed(
                    &signer,
                    r#"j:{"sub":"al","org":"ａｃｍｅ"}"#,
                ))],
                b"",
            ),
            expect: Rooms(&["document-*", "user-al"]),
        },
        Case {
            name: "attribute with spaces",
            request: post(
                &[cookie(&signed(&signer, r#"j:{"sub":"al","org":"a b"}"#))],
                b"",
            ),
            expect: Rooms(&["document-*", "user-al"]),
        },
        Case {
            name: "role array smuggling a pattern",
            request: post(
                &[cookie(&signed(
                    &signer,
                    r#"j:{"sub":"al","roles":["admin*","*"]}"#,
                ))],
                b"",
            ),
            expect: Rooms(&["document-*", "user-al"]),
        },
        Case {
            name: "10 KB subject",
            request: post(&[cookie(&signed(&signer, &"a".repeat(10_000)))], b""),
            expect: Reject(401, Some("unauthenticated")),
        },
        // Bodies.
        Case {
            name: "malformed JSON",
            request: with_good("{\"rooms\":"),
            expect: bad_request,
        },
        Case {
            name: "wrong type",
            request: with_good(r#"{"rooms":"document-1"}"#),
            expect: Reject(400, Some("invalid_request")),
        },
        Case {
            name: "huge array",
            request: with_good(&format!("{{\"rooms\":[{}\"a\"]}}", "\"a\",".repeat(900))),
            expect: Reject(400, Some("invalid_request")),
        },
        Case {
            name: "duplicate keys",
            request: with_good(r#"{"rooms":["document-1"],"rooms":["*"]}"#),
            expect: Reject(400, Some("invalid_request")),
        },
        Case {
            name: "unknown field",
            request: with_good(r#"{"rooms":["document-1"],"admin":true}"#),
            expect: Reject(400, Some("invalid_request")),
        },
        Case {
            name: "over the size limit",
            request: with_good(&format!("{{\"rooms\":[\"{}\"]}}", "a".repeat(5000))),
            expect: Reject(413, Some("payload_too_large")),
        },
        Case {
            name: "huge declared length",
            request: post(
                &[
                    cookie(&good),
                    json_body(),
                    ("Content-Length", b"99999999999".to_vec()),
                ],
                b"{}",
            ),
            expect: Reject(413, Some("payload_too_large")),
        },
        Case {
            name: "lying Content-Length (short)",
            request: post(
                &[
                    cookie(&good),
                    json_body(),
                    ("Content-Length", b"10".to_vec()),
                ],
                br#"{"rooms":["document-1"]}"#,
            ),
            expect: Reject(400, Some("invalid_request")),
        },
        Case {
            name: "chunked over the limit",
            request: post(
                &[
                    cookie(&good),
                    json_body(),
                    ("Transfer-Encoding", b"chunked".to_vec()),
                ],
                &chunked(&format!("{{\"rooms\":[\"{}\"]}}", "a".repeat(6000))),
            ),
            expect: Reject(413, Some("payload_too_large")),
        },
        Case {
            name: "text/plain body",
            request: post(
                &[cookie(&good), ("Content-Type", b"text/plain".to_vec())],
                br#"{"rooms":["document-1"]}"#,
            ),
            expect: Reject(415, Some("unsupported_media_type")),
        },
        // Rooms.
        Case {
            name: "* in the middle of a room",
            request: with_good(r#"{"rooms":["doc*ument-1"]}"#),
            expect: Reject(400, Some("invalid_request")),
        },
        Case {
            name: "empty room",
            request: with_good(r#"{"rooms":[""]}"#),
            expect: Reject(400, Some("invalid_request")),
        },
        Case {
            name: "room over the length limit",
            request: with_good(&format!("{{\"rooms\":[\"{}\"]}}", "d".repeat(129))),
            expect: Reject(400, Some("invalid_request")),
        },
        Case {
            name: "room * when not granted",
            request: with_good(r#"{"rooms":["*"]}"#),
            expect: Reject(403, Some("room_not_allowed")),
        },
        Case {
            name: "another user's room",
            request: with_good(r#"{"rooms":["user-bob"]}"#),
            expect: Reject(403, Some("room_not_allowed")),
        },
        // Admin keys.
        Case {
            name: "wrong admin key",
            request: admin("Bearer wrong-0123456789abcdef-0123456789abcdef"),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "prefix of the admin key",
            request: admin(&format!("Bearer {}", &ADMIN_KEY[..20])),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "admin key in another case",
            request: admin(&format!("Bearer {}", ADMIN_KEY.to_uppercase())),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "admin key with a suffix",
            request: admin(&format!("Bearer {ADMIN_KEY}0")),
            expect: Reject(401, Some("unauthenticated")),
        },
        Case {
            name: "empty bearer",
            request: admin("Bearer "),
            expect: Reject(401, Some("unauthenticated")),
        },
        // Methods.
        Case {
            name: "GET",
            request: raw("GET", &[cookie(&good)], b""),
            expect: Reject(405, Some("method_not_allowed")),
        },
        Case {
            name: "PUT",
            request: raw("PUT", &[cookie(&good)], b"{}"),
            expect: Reject(405, Some("method_not_allowed")),
        },
        Case {
            name: "DELETE",
            request: raw("DELETE", &[cookie(&good)], b""),
            expect: Reject(405, Some("method_not_allowed")),
        },
        Case {
            name: "PATCH",
            request: raw("PATCH", &[cookie(&good)], b"{}"),
            expect: Reject(405, Some("method_not_allowed")),
        },
        // Headers.
        Case {
            name: "oversized header",
            request: post(&[cookie(&good), ("X-Big", vec![b'a'; 140 * 1024])], b""),
            expect: Reject(431, None),
        },
        Case {
            name: "cross-site origin with a good cookie",
            request: post(
                &[cookie(&good), ("Origin", b"https://evil.example".to_vec())],
                b"",
            ),
            expect: Reject(403, Some("origin_not_allowed")),
        },
    ]
}

pub(super) fn admin(authorization: &str) -> Vec<u8> {
    raw(
        "POST",
        &[
            ("Authorization", authorization.as_bytes().to_vec()),
            json_body(),
        ],
        br#"{"sub":"job","rooms":["document-1"]}"#,
    )
}

pub(super) fn chunked(body: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for part in body.as_bytes().chunks(1000) {
        out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

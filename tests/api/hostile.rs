//! Hostile input, table-driven: each request must get the expected status and
//! error code, never a token (or never a wider grant), and the service must
//! serve the next good request. (Slow clients, which need a real clock, are in
//! `http_errors` (body) and `operations` (headers).)

use realtime_token::session::cookies::{percent_encode, CookieSigner};
use serde_json::Value;

use crate::support::*;

/// What a hostile request must get.
enum Expect {
    /// This status and (when the service itself answers) this error code; no token.
    Reject(u16, Option<&'static str>),
    /// A token whose rooms are exactly these (the attack must not widen them).
    Rooms(&'static [&'static str]),
}
use Expect::*;

struct Case {
    name: &'static str,
    request: Vec<u8>,
    expect: Expect,
}

/// A raw HTTP/1.1 request; `Content-Length` is added unless a header sets it
/// or chunked encoding is used.
fn raw(method: &str, headers: &[(&str, Vec<u8>)], body: &[u8]) -> Vec<u8> {
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

fn cookie(value: &str) -> (&'static str, Vec<u8>) {
    ("Cookie", value.as_bytes().to_vec())
}

fn json_body() -> (&'static str, Vec<u8>) {
    ("Content-Type", b"application/json".to_vec())
}

fn signed(signer: &CookieSigner, value: &str) -> String {
    format!("session={}", percent_encode(&signer.sign(value)))
}

fn cases() -> Vec<Case> {
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

fn admin(authorization: &str) -> Vec<u8> {
    raw(
        "POST",
        &[
            ("Authorization", authorization.as_bytes().to_vec()),
            json_body(),
        ],
        br#"{"sub":"job","rooms":["document-1"]}"#,
    )
}

fn chunked(body: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for part in body.as_bytes().chunks(1000) {
        out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// Sends `request` on a fresh connection; the status and body of the answer.
async fn send(addr: &str, request: &[u8]) -> (u16, String) {
    let text = raw_exchange(addr, request).await;
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    // Only the first response: with a lying Content-Length the leftover
    // bytes are parsed as a second (bad) request and answered too.
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(rest.len());
    (status, rest.get(..length).unwrap_or(rest).to_owned())
}

#[tokio::test]
async fn hostile_requests_get_clear_errors_no_token_and_the_service_keeps_serving() {
    let settings = [
        ("REALTIME_ROOMS", "document-*,user-{sub},org-{org}-*"),
        ("REALTIME_ROLE_ROOMS", "admin=*"),
        ("ADMIN_API_KEY", ADMIN_KEY),
        ("RATE_LIMIT_IP", "off"),
        ("RATE_LIMIT_SUBJECT", "off"),
    ];
    let app = spawn_app_with(&settings).await;
    let json_app =
        spawn_app_with(&[&settings[..], &[("SESSION_COOKIE_VALUE", "json")]].concat()).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let json_addr = json_app.base.trim_start_matches("http://").to_owned();
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        // Cases with a JSON cookie (`j:`, percent-encoded) go to the app
        // that reads them; the rest to the one that reads plain ids.
        let json_cookie = case.request.windows(4).any(|w| w == b"j%3A");
        let target = if json_cookie { &json_addr } else { &addr };
        let (status, body) = send(target, &case.request).await;
        let json: Option<Value> = serde_json::from_str(&body).ok();
        match &case.expect {
            Reject(want, code) => {
                if status != *want {
                    failures.push(format!(
                        "{}: status {status}, want {want}: {body}",
                        case.name
                    ));
                }
                if body.contains("\"token\"") || body.contains("eyJ") {
                    failures.push(format!("{}: a token was issued", case.name));
                }
                if let Some(code) = code {
                    if json.as_ref().map(|j| j["error"].clone()) != Some(Value::from(*code)) {
                        failures.push(format!("{}: error code, want {code}: {body}", case.name));
                    }
                }
            }
            Rooms(rooms) => match json.as_ref().and_then(|j| j["token"].as_str()) {
                Some(token) if status == 200 => {
                    let granted = decode(token).permissions.rooms;
                    if granted != *rooms {
                        failures.push(format!("{}: rooms {granted:?}, want {rooms:?}", case.name));
                    }
                }
                _ => failures.push(format!(
                    "{}: status {status}, want a token: {body}",
                    case.name
                )),
            },
        }
        // The service still serves the next good request.
        let res = app.post_token(Some(&app.cookie("alice"))).await;
        if res.status() != 200 {
            failures.push(format!(
                "after {}: a good request got {}",
                case.name,
                res.status()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn verify_refuses_tokens_with_other_algorithms() {
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = realtime_token::token::unix_now();
    let claims = serde_json::json!({"sub": "alice", "iat": now, "exp": now + 600, "iss": ISSUER, "aud": AUDIENCE, "permissions": {"rooms": ["*"]}});
    let unsigned = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let rs256_header = format!(
        "{}.{}.c2ln",
        b64(&serde_json::json!({"alg": "RS256", "typ": "JWT"})),
        b64(&claims)
    );
    let verifier = realtime_token::TokenVerifier::new(&config_with(&[]).unwrap().jwt);
    for (name, token) in [
        ("none", unsigned),
        ("HS512", hs512),
        ("RS256", rs256_header),
    ] {
        assert!(verifier.verify(&token).is_err(), "alg {name} accepted");
        let out = run_cli(&[], &["verify", &token]);
        assert_eq!(out.status.code(), Some(1), "alg {name}");
        assert!(stdout(&out).is_empty(), "claims printed for alg {name}");
    }
}

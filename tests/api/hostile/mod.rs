//! Hostile input, table-driven: each request must get the expected status and
//! error code, never a token (or never a wider grant), and the service must
//! serve the next good request. (Slow clients, which need a real clock, are in
//! `http_errors` (body) and `operations` (headers).)

use serde_json::Value;

use crate::support::*;

mod better_auth;
mod cases;
mod formats;
mod jws_cases;
mod jwt_cookie;

use cases::cases;

/// POSTs each cookie; a line for each that is not a clean 401, or after
/// which `good` no longer gets `good_status`.
pub(super) async fn refused(
    app: &TestApp,
    label: &str,
    cases: &[(String, String)],
    good: &str,
    good_status: u16,
) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, cookie) in cases {
        let res = app.post_token(Some(cookie)).await;
        let status = res.status().as_u16();
        let body = res.text().await.unwrap_or_default();
        if status != 401 || !body.contains("\"unauthenticated\"") || body.contains("token\"") {
            failures.push(format!("{label}: {name}: {status} {body}"));
        }
        let after = app.post_token(Some(good)).await.status().as_u16();
        if after != good_status {
            failures.push(format!(
                "{label}: after {name}, the good cookie got {after}"
            ));
        }
    }
    failures
}

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

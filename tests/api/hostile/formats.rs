//! Hostile cookies for the session formats that bring their own parsers:
//! oversized, malformed, truncated, many chunks, bad escapes. Each must be a
//! 401 `unauthenticated` (never a token, never a 5xx), and the service must
//! keep serving. The formats' own tests cover tampered real cookies.

use base64::Engine as _;

use crate::support::*;

/// Hostile values for one cookie name.
pub(super) fn values(name: &str) -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    vec![
        format!("{name}="),
        format!("{name}=%ff%fe%00"),
        format!("{name}={}", "A".repeat(4000)),
        format!("{name}={}", "*".repeat(3000)),
        format!("{name}={}", ":".repeat(3000)),
        format!("{name}={}", ".".repeat(3000)),
        format!("{name}={}", b64(&nested)),
        format!("{name}=.{}:1vNYyu:{}", "A".repeat(2000), "B".repeat(43)),
        format!("{name}=Fe26.2*1*{}~2", "*".repeat(10)),
        format!("{name}=Fe26.2**********~2"),
        format!("{name}=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0....."),
        format!("{name}=eyJ{}.e30.e30.e30.e30", "A".repeat(3000)),
        format!("{name}=a; {name}.sig=; {name}.sig={}", "_".repeat(27)),
    ]
}

/// A backend under test: `SESSION_BACKEND`, its cookie, extra settings.
type Backend = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

#[tokio::test]
async fn hostile_cookies_are_401_for_every_cookie_format_and_the_service_keeps_serving() {
    let backends: [Backend; 5] = [
        ("cookie-session", "session", &[]),
        (
            "django",
            "sessionid",
            &[("SESSION_DJANGO_ENGINE", "signed_cookies")],
        ),
        (
            "iron-session",
            "app_session",
            &[("SESSION_COOKIE", "app_session")],
        ),
        ("authjs", "authjs.session-token", &[]),
        ("next-auth", "next-auth.session-token", &[]),
    ];
    let mut failures = Vec::new();
    for (backend, name, extra) in backends {
        let mut env = vec![("SESSION_BACKEND", backend)];
        env.extend_from_slice(extra);
        let app = spawn_app_with(&env).await;
        let mut cookies = values(name);
        // Many chunks (Auth.js splits large tokens into <name>.0, .1, ...).
        cookies.push(
            (0..40)
                .map(|i| format!("{name}.{i}={}", "x".repeat(90)))
                .collect::<Vec<_>>()
                .join("; "),
        );
        cookies.push(format!(
            "{name}.0=a; {name}.2=b; {name}.99999999999999999999=c"
        ));
        for cookie in &cookies {
            let res = app.post_token(Some(cookie)).await;
            let status = res.status().as_u16();
            let body = res.text().await.unwrap_or_default();
            if status != 401 || !body.contains("\"unauthenticated\"") || body.contains("token\"") {
                let shown: String = cookie.chars().take(60).collect();
                failures.push(format!("{backend}: {shown}...: {status} {body}"));
            }
        }
        let health = app.client.get(app.url("/healthz")).send().await.unwrap();
        if health.status() != 200 {
            failures.push(format!(
                "{backend}: /healthz {} afterwards",
                health.status()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

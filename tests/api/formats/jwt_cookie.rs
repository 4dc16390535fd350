//! `SESSION_BACKEND=jwt-cookie`: JWS cookies signed by the real `jose`
//! library (`tests/formats/jwt-cookie`), which also generates the keys and
//! prints the PEM / JWK it used.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::support::upstream::{Answer, Upstream};
use crate::support::*;

const MODULES: &[&str] = &["jose"];
pub(super) const HS_SECRET: &str = "supabase-style-jwt-secret-0123456789abcdef";

/// The Cookie headers jose signed, and the keys it generated.
pub(super) fn write(keys: Value, cases: Value) -> (Vec<String>, Value) {
    let answer = node_writer(
        "jwt-cookie",
        MODULES,
        &json!({ "keys": keys, "cases": cases }),
    );
    (cookies(&answer), answer["keys"].clone())
}

pub(super) fn jwks(keys: &Value, ids: &[(&str, &str)]) -> Value {
    let keys: Vec<Value> = ids
        .iter()
        .map(|(id, kid)| {
            let mut jwk = keys[id]["jwk"].clone();
            jwk["kid"] = json!(kid);
            jwk
        })
        .collect();
    json!({ "keys": keys })
}

pub(super) fn env<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("SESSION_BACKEND", "jwt-cookie"),
        ("SESSION_COOKIE", "__session"),
        ("SESSION_SECRET", ""),
        ("SESSION_ATTRIBUTES", "org=/org"),
        ("REALTIME_ROOMS", "document-*,user-{sub},org-{org}:*"),
    ];
    env.extend_from_slice(extra);
    env
}

pub(super) async fn expect_user(app: &TestApp, cookie: &str, sub: &str) {
    let (_, claims) = expect_token(app.post_token(Some(cookie)).await).await;
    assert_eq!(claims.sub, sub);
}

#[tokio::test]
async fn rs256_with_a_pem_key_checks_signature_issuer_audience_and_expiry() {
    let iss = "https://clerk.example.dev";
    let good = json!({"sub": "user_2a", "org": "acme", "iss": iss, "aud": "app"});
    let (written, keys) = write(
        json!({"clerk": "RS256", "other": "RS256"}),
        json!([
            {"key": "clerk", "claims": good},
            {"key": "other", "claims": good},
            {"key": "clerk", "claims": {"org": "acme", "iss": iss, "aud": "app"}},
            {"key": "clerk", "claims": good, "expiresIn": -3600},
            {"key": "clerk", "claims": good, "expiresIn": null},
            {"key": "clerk", "claims": {"sub": "user_2a", "iss": "https://evil.example", "aud": "app"}},
            {"key": "clerk", "claims": {"sub": "user_2a", "iss": iss, "aud": "other-app"}},
            {"key": "clerk", "claims": {"sub": "user_2a", "aud": "app"}},
            {"pemAsSecret": "clerk", "claims": good},
            {"unsecured": true, "claims": good},
            {"key": "clerk", "claims": {"sub": "mallory", "org": "acme", "iss": iss, "aud": "app"}},
            {"key": "clerk", "kid": "ins_2abc", "claims": good},
        ]),
    );
    let pem = keys["clerk"]["pem"].as_str().unwrap();
    let app = spawn_app_with(&env(&[
        ("SESSION_JWT_KEY", pem),
        ("SESSION_JWT_ALGORITHMS", "RS256"),
        ("SESSION_JWT_ISSUER", iss),
        ("SESSION_JWT_AUDIENCE", "app"),
    ]))
    .await;

    // Another key, no sub, expired, no exp, wrong issuer, wrong audience, no
    // issuer, HS256 keyed with the public PEM (algorithm confusion), `alg: none`;
    // mallory's claims under alice's signature (payload swapped).
    let parts: Vec<&str> = written[0].split('.').collect();
    let mallory: Vec<&str> = written[10].split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], mallory[1], parts[2]);
    let cases = Cases {
        good: &written[0],
        sub: "user_2a",
        rooms: &["org-acme:*"],
        refused: [&written[1..10], &[tampered]].concat(),
        no_user: None,
    };
    accept_refuse(&app, cases).await;
    // Clerk names its instance in `kid`; a PEM key has none and takes any.
    expect_user(&app, &written[11], "user_2a").await;
}

#[tokio::test]
async fn clerk_style_authorized_parties_and_oauth_access_tokens() {
    let app_origin = "https://app.example.com";
    let (written, keys) = write(
        json!({"clerk": "RS256"}),
        json!([
            {"key": "clerk", "claims": {"sub": "user_2a", "azp": app_origin}},
            {"key": "clerk", "claims": {"sub": "user_2a", "azp": "https://evil.example"}},
            {"key": "clerk", "claims": {"sub": "user_2a"}},
            {"key": "clerk", "typ": "at+jwt", "claims": {"sub": "user_2a", "azp": app_origin}},
            {"key": "clerk", "typ": "application/at+jwt", "claims": {"sub": "user_2a"}},
        ]),
    );
    let pem = keys["clerk"]["pem"].as_str().unwrap();
    let with_parties = spawn_app_with(&env(&[
        ("SESSION_JWT_KEY", pem),
        ("SESSION_JWT_ALGORITHMS", "RS256"),
        (
            "SESSION_JWT_AUTHORIZED_PARTIES",
            "http://localhost:3000, https://app.example.com",
        ),
    ]))
    .await;
    expect_user(&with_parties, &written[0], "user_2a").await;
    // Another azp, none, an OAuth access token (RFC 9068 `typ`).
    for cookie in &written[1..5] {
        with_parties.expect_unauthenticated(cookie).await;
    }
    // Without the setting azp is not checked; access tokens stay refused.
    let without = spawn_app_with(&env(&[
        ("SESSION_JWT_KEY", pem),
        ("SESSION_JWT_ALGORITHMS", "RS256"),
    ]))
    .await;
    expect_user(&without, &written[1], "user_2a").await;
    expect_user(&without, &written[2], "user_2a").await;
    for cookie in &written[3..5] {
        without.expect_unauthenticated(cookie).await;
    }
}

#[test]
fn unsafe_algorithm_settings_are_refused_at_start_up() {
    let (_, keys) = write(json!({"rsa": "RS256", "ec": "ES256"}), json!([]));
    let pem = keys["rsa"]["pem"].as_str().unwrap();
    let ec_pem = keys["ec"]["pem"].as_str().unwrap();
    for (key, algorithms) in [
        (pem, "RS256,HS256"),
        (pem, "none"),
        (pem, "RS256,none"),
        (pem, "ES256"),
        (ec_pem, "RS256"),
        // A P-256 key verifies ES256, never ES384.
        (ec_pem, "ES256,ES384"),
        (HS_SECRET, "RS256"),
        (pem, ""),
    ] {
        let errors = config_with(&env(&[
            ("SESSION_JWT_KEY", key),
            ("SESSION_JWT_ALGORITHMS", algorithms),
        ]))
        .err()
        .unwrap_or_else(|| panic!("{algorithms} with that key was accepted"));
        assert!(errors.mentions("SESSION_JWT_ALGORITHMS"), "{errors}");
    }
    let short = config_with(&env(&[
        ("SESSION_JWT_KEY", "short"),
        ("SESSION_JWT_ALGORITHMS", "HS256"),
    ]));
    assert!(short.unwrap_err().mentions("SESSION_JWT_KEY"));
    let two = config_with(&env(&[
        ("SESSION_JWT_KEY", pem),
        ("SESSION_JWKS_URL", "http://127.0.0.1:9/jwks"),
        ("SESSION_JWT_ALGORITHMS", "RS256"),
    ]));
    assert!(two.unwrap_err().to_string().contains("exactly one"));
    let hs_jwks = config_with(&env(&[
        ("SESSION_JWKS_URL", "http://127.0.0.1:9/jwks"),
        ("SESSION_JWT_ALGORITHMS", "HS256"),
    ]));
    assert!(hs_jwks.unwrap_err().mentions("SESSION_JWT_ALGORITHMS"));
    let no_cookie = config_with(&[
        ("SESSION_BACKEND", "jwt-cookie"),
        ("SESSION_JWT_KEY", pem),
        ("SESSION_JWT_ALGORITHMS", "RS256"),
    ]);
    assert!(no_cookie.unwrap_err().mentions("SESSION_COOKIE"));
}

#[tokio::test]
async fn hs256_with_a_shared_secret() {
    let (written, _) = write(
        json!({}),
        json!([
            {"secret": HS_SECRET, "claims": {"sub": "alice", "org": "acme"}},
            {"secret": "another-secret-0123456789abcdef-0123", "claims": {"sub": "alice"}},
            {"secret": HS_SECRET, "alg": "HS512", "claims": {"sub": "alice"}},
        ]),
    );
    let app = spawn_app_with(&env(&[
        ("SESSION_JWT_KEY", HS_SECRET),
        ("SESSION_JWT_ALGORITHMS", "HS256"),
    ]))
    .await;
    expect_user(&app, &written[0], "alice").await;
    app.expect_unauthenticated(&written[1]).await;
    // A right key under an algorithm not in the list.
    app.expect_unauthenticated(&written[2]).await;
}

#[tokio::test]
async fn es256_with_a_jwks_file_chooses_the_key_by_kid() {
    let (written, keys) = write(
        json!({"a": "ES256", "b": "ES256", "ed": "EdDSA"}),
        json!([
            {"key": "a", "kid": "key-a", "claims": {"sub": "alice"}},
            {"key": "b", "kid": "key-b", "claims": {"sub": "bob"}},
            {"key": "a", "kid": "key-b", "claims": {"sub": "mallory"}},
            {"key": "b", "kid": "key-c", "claims": {"sub": "mallory"}},
            {"key": "ed", "kid": "key-ed", "claims": {"sub": "erin"}},
            {"key": "a", "claims": {"sub": "no-kid"}},
        ]),
    );
    let dir = scratch_dir().join(format!("jwks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jwks.json");
    let set = jwks(&keys, &[("a", "key-a"), ("b", "key-b"), ("ed", "key-ed")]);
    std::fs::write(&file, set.to_string()).unwrap();
    let app = spawn_app_with(&env(&[
        ("SESSION_JWKS_FILE", file.to_str().unwrap()),
        ("SESSION_JWT_ALGORITHMS", "ES256,EdDSA"),
    ]))
    .await;
    expect_user(&app, &written[0], "alice").await;
    expect_user(&app, &written[1], "bob").await;
    expect_user(&app, &written[4], "erin").await;
    // Signed by a but claiming b's kid; an unknown kid; no kid with two EC keys.
    for cookie in [&written[2], &written[3], &written[5]] {
        app.expect_unauthenticated(cookie).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_jwks_file_checked_at_start_up_is_the_one_served() {
    let (written, keys) = write(
        json!({"a": "ES256"}),
        json!([{"key": "a", "kid": "key-a", "claims": {"sub": "alice"}}]),
    );
    let dir = scratch_dir().join(format!("jwks-once-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jwks.json");
    std::fs::write(&file, jwks(&keys, &[("a", "key-a")]).to_string()).unwrap();
    let config = config_with(&env(&[
        ("SESSION_JWKS_FILE", file.to_str().unwrap()),
        ("SESSION_JWT_ALGORITHMS", "ES256"),
    ]))
    .expect("checked");
    // The file changes after the check: the service starts with the keys
    // it checked (the check parsed the settings once), not with a file it
    // never checked.
    std::fs::write(&file, "not a JWKS").unwrap();
    let app = spawn_app_config(config).await;
    expect_user(&app, &written[0], "alice").await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn every_jws_algorithm_jose_signs_is_verified_and_a_swapped_payload_is_not() {
    let algs = [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
    ];
    let key_algs: serde_json::Map<String, Value> =
        algs.iter().map(|a| ((*a).to_owned(), json!(a))).collect();
    let mut cases: Vec<Value> = algs
        .iter()
        .map(|a| json!({"key": a, "kid": a, "claims": {"sub": format!("user-{a}")}}))
        .collect();
    for a in ["HS256", "HS384", "HS512"] {
        cases.push(json!({"secret": HS_SECRET, "alg": a, "claims": {"sub": format!("user-{a}")}}));
    }
    cases.push(json!({"key": "RS256", "kid": "RS256", "claims": {"sub": "mallory"}}));
    let (written, keys) = write(Value::Object(key_algs), Value::Array(cases));
    let dir = scratch_dir().join(format!("jwks-all-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jwks.json");
    let ids: Vec<(&str, &str)> = algs.iter().map(|a| (*a, *a)).collect();
    std::fs::write(&file, jwks(&keys, &ids).to_string()).unwrap();
    let public = spawn_app_with(&env(&[
        ("SESSION_JWKS_FILE", file.to_str().unwrap()),
        ("SESSION_JWT_ALGORITHMS", &algs.join(",")),
    ]))
    .await;
    let hmac = spawn_app_with(&env(&[
        ("SESSION_JWT_KEY", HS_SECRET),
        ("SESSION_JWT_ALGORITHMS", "HS256,HS384,HS512"),
    ]))
    .await;
    let mallory = written.last().unwrap().split('.').nth(1).unwrap();
    for (i, cookie) in written[..12].iter().enumerate() {
        let (app, alg) = if i < 9 {
            (&public, algs[i])
        } else {
            (&hmac, ["HS256", "HS384", "HS512"][i - 9])
        };
        expect_user(app, cookie, &format!("user-{alg}")).await;
        let parts: Vec<&str> = cookie.split('.').collect();
        app.expect_unauthenticated(&format!("{}.{mallory}.{}", parts[0], parts[2]))
            .await;
    }
    // The same tokens (each names a `kid`, as Clerk's do) with each key
    // given as jose's PEM, which has no `kid`.
    for (i, alg) in algs.iter().enumerate() {
        let app = spawn_app_with(&env(&[
            ("SESSION_JWT_KEY", keys[alg]["pem"].as_str().unwrap()),
            ("SESSION_JWT_ALGORITHMS", alg),
        ]))
        .await;
        expect_user(&app, &written[i], &format!("user-{alg}")).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_jwks_url_is_cached_and_refetched_once_for_a_new_kid() {
    let (written, keys) = write(
        json!({"old": "RS256", "new": "RS256"}),
        json!([
            {"key": "old", "kid": "k1", "claims": {"sub": "alice"}},
            {"key": "new", "kid": "k2", "claims": {"sub": "bob"}},
            {"key": "new", "kid": "k3", "claims": {"sub": "carol"}},
        ]),
    );
    let server = Upstream::start(Answer::Json(jwks(&keys, &[("old", "k1")]))).await;
    let app = spawn_app_with(&env(&[
        ("SESSION_JWKS_URL", &server.url()),
        ("SESSION_JWT_ALGORITHMS", "RS256"),
    ]))
    .await;
    let hits = || server.hits.load(Ordering::SeqCst);
    expect_user(&app, &written[0], "alice").await;
    expect_user(&app, &written[0], "alice").await;
    assert_eq!(hits(), 1, "one fetch, then the cache");

    // Key rotation: the new kid makes exactly one refetch.
    server.set(Answer::Json(jwks(&keys, &[("old", "k1"), ("new", "k2")])));
    expect_user(&app, &written[1], "bob").await;
    expect_user(&app, &written[1], "bob").await;
    assert_eq!(hits(), 2);
    // Another unknown kid within the interval: refused without a fetch.
    app.expect_unauthenticated(&written[2]).await;
    app.expect_unauthenticated(&written[2]).await;
    assert_eq!(hits(), 2);
    app.eventually_ready().await;
}

#[tokio::test]
async fn an_unreachable_or_garbage_jwks_with_nothing_cached_is_503() {
    let (written, _) = write(
        json!({"rsa": "RS256"}),
        json!([{"key": "rsa", "kid": "k1", "claims": {"sub": "alice"}}]),
    );
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/jwks", listener.local_addr().unwrap())
    };
    let garbage = Upstream::start(Answer::Garbage).await;
    for url in [closed, garbage.url()] {
        let app = spawn_app_with(&env(&[
            ("SESSION_JWKS_URL", &url),
            ("SESSION_JWT_ALGORITHMS", "RS256"),
        ]))
        .await;
        let res = app.post_token(Some(&written[0])).await;
        expect_error(res, 503, "session_backend_unavailable").await;
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status().as_u16(), 503);
    }
}

//! `jwt-cookie`'s JWKS: keys whose parameters contradict their material are
//! refused when the set is loaded (Project Wycheproof's
//! `json_web_key_test.json`, in `src/session/codec/jwt/testdata/`), and a
//! fetched JWKS is kept for its `Cache-Control: max-age` within
//! `SESSION_JWKS_CACHE_MIN` / `_MAX`. Tokens signed by the real `jose`.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use super::jwt_cookie::{env, expect_user, jwks, write};
use crate::support::upstream::{Answer, Upstream};
use crate::support::*;

/// The Wycheproof vectors kept for these tests (source and commit inside).
fn wycheproof() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/session/codec/jwt/testdata/wycheproof_jwk.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// tcId `tc`'s published public key, and its private key for jose.
fn vector_keys(vectors: &Value, tc: &str) -> (Value, Value) {
    let vector = &vectors["vectors"][tc];
    let public = vector["jwks"]["keys"][0].clone();
    let private = vector["private_jwks"]["keys"][0].clone();
    (public, private)
}

#[tokio::test]
async fn jwks_keys_whose_parameters_contradict_their_material_are_refused_and_logged() {
    let vectors = wycheproof();
    // tcId 23: `"crv": "P-384"` on a P-256 point. Its holder signs ES256
    // with the P-256 key the coordinates really are.
    let (wrong_curve, mut p256) = vector_keys(&vectors, "23");
    p256["crv"] = json!("P-256");
    // tcId 7: an RSA key with the ROCA weakness (CVE-2017-15361).
    let (roca, roca_private) = vector_keys(&vectors, "7");
    let (written, keys) = write(
        json!({
            "good": "ES256",
            "wrong-curve": {"alg": "ES256", "jwk": p256},
            "roca": {"alg": "RS256", "jwk": roca_private},
        }),
        json!([
            {"key": "good", "kid": "good", "claims": {"sub": "alice"}},
            {"key": "wrong-curve", "kid": "kid-ec-sign", "claims": {"sub": "mallory"}},
            {"key": "roca", "kid": "kid-rsa-roca-sign", "claims": {"sub": "mallory"}},
        ]),
    );
    let mut set = jwks(&keys, &[("good", "good")]);
    let published = set["keys"].as_array_mut().unwrap();
    published.extend([wrong_curve.clone(), roca.clone()]);
    let server = Upstream::start(Answer::Json(set)).await;
    let url = server.url();
    let process = tokio::task::spawn_blocking(move || {
        ServerProcess::start(&env(&[
            ("SESSION_JWKS_URL", &url),
            ("SESSION_JWT_ALGORITHMS", "ES256,RS256"),
        ]))
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let post = |cookie: &str| {
        client
            .post(process.url("/api/realtime-token"))
            .header("Cookie", cookie)
            .send()
    };
    let (_, claims) = expect_token(post(&written[0]).await.unwrap()).await;
    assert_eq!(claims.sub, "alice");
    // Both signatures are good for the key material; the keys are not used.
    for cookie in &written[1..] {
        let res = post(cookie).await.unwrap();
        expect_error(res, 401, "unauthenticated").await;
    }
    // The log is complete once the process has exited.
    process.terminate();
    let process = tokio::task::spawn_blocking(move || {
        let mut process = process;
        assert_eq!(process.wait_exit(), Some(0));
        process
    })
    .await
    .unwrap();
    let log = process.log_text();
    for line in [
        r#"JWKS: key "kid-ec-sign" refused: its x and y are not the length its crv requires"#,
        r#"JWKS: key "kid-rsa-roca-sign" refused: the RSA key has the ROCA weakness"#,
    ] {
        assert!(log.contains(line), "no {line:?} in:\n{log}");
    }

    // A JWKS file of only such keys is refused at start-up, with the reasons.
    let dir = scratch_dir().join(format!("jwks-wycheproof-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jwks.json");
    std::fs::write(&file, json!({"keys": [wrong_curve, roca]}).to_string()).unwrap();
    let Err(errors) = config_with(&env(&[
        ("SESSION_JWKS_FILE", file.to_str().unwrap()),
        ("SESSION_JWT_ALGORITHMS", "ES256,RS256"),
    ])) else {
        panic!("a JWKS of contradictory keys was accepted");
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert!(errors.mentions("SESSION_JWKS_FILE"), "{errors}");
    let text = errors.to_string();
    assert!(
        text.contains("kid-ec-sign") && text.contains("ROCA"),
        "{text}"
    );
}

/// Asks with `cookie` until the JWKS server has answered `fetches` times;
/// the status of the request that made the last fetch. Before it, every
/// answer must be 200.
async fn status_after_fetch(app: &TestApp, server: &Upstream, cookie: &str, fetches: usize) -> u16 {
    eventually("the JWKS to be fetched again", async || {
        let status = app.post_token(Some(cookie)).await.status().as_u16();
        if server.hits.load(Ordering::SeqCst) >= fetches {
            return Some(status);
        }
        assert_eq!(status, 200, "refused before the JWKS was fetched again");
        None
    })
    .await
}

fn max_age(set: Value, cache_control: &str) -> Answer {
    Answer::JsonWith(set, vec![("Cache-Control", cache_control.to_owned())])
}

/// Tokens jose signs with keys `k1` (alice) and `k2` (bob) of one `alg`, a
/// JWKS server listing both, and an app reading it without rate limits.
struct Rotation {
    written: Vec<String>,
    server: Upstream,
    app: TestApp,
    /// The JWKS without `k1`.
    k2: Value,
}

impl Rotation {
    async fn start(alg: &str, cache_control: &str, bounds: &[(&str, &str)]) -> Self {
        let (written, keys) = write(
            json!({"old": alg, "new": alg}),
            json!([
                {"key": "old", "kid": "k1", "claims": {"sub": "alice"}},
                {"key": "new", "kid": "k2", "claims": {"sub": "bob"}},
            ]),
        );
        let both = jwks(&keys, &[("old", "k1"), ("new", "k2")]);
        let server = Upstream::start(max_age(both, cache_control)).await;
        let url = server.url();
        let mut settings = vec![
            ("SESSION_JWKS_URL", url.as_str()),
            ("SESSION_JWT_ALGORITHMS", alg),
            ("RATE_LIMIT_IP", "off"),
            ("RATE_LIMIT_SUBJECT", "off"),
        ];
        settings.extend_from_slice(bounds);
        let app = spawn_app_with(&env(&settings)).await;
        Self {
            written,
            server,
            app,
            k2: jwks(&keys, &[("new", "k2")]),
        }
    }
}

#[tokio::test]
async fn a_key_removed_from_the_jwks_stops_verifying_once_its_max_age_has_passed() {
    let min = [("SESSION_JWKS_CACHE_MIN", "1s")];
    let r = Rotation::start("RS256", "public, max-age=2", &min).await;
    expect_user(&r.app, &r.written[0], "alice").await;
    expect_user(&r.app, &r.written[1], "bob").await;
    assert_eq!(r.server.hits.load(Ordering::SeqCst), 1);

    // k1 leaves the JWKS: alice's token (cached as verified) works until
    // the request that refetches, which refuses it, with no second fetch
    // for its kid (the keys are fresh).
    r.server.set(max_age(r.k2.clone(), "max-age=2"));
    let status = status_after_fetch(&r.app, &r.server, &r.written[0], 2).await;
    assert_eq!(status, 401);
    assert_eq!(r.server.hits.load(Ordering::SeqCst), 2);
    r.app.expect_unauthenticated(&r.written[0]).await;
    expect_user(&r.app, &r.written[1], "bob").await;
}

#[tokio::test]
async fn a_long_max_age_is_capped_by_session_jwks_cache_max() {
    let bounds = [
        ("SESSION_JWKS_CACHE_MIN", "1s"),
        ("SESSION_JWKS_CACHE_MAX", "2s"),
    ];
    let r = Rotation::start("ES256", "max-age=86400", &bounds).await;
    expect_user(&r.app, &r.written[0], "alice").await;
    r.server.set(max_age(r.k2.clone(), "no-store"));
    let status = status_after_fetch(&r.app, &r.server, &r.written[0], 2).await;
    assert_eq!(status, 401);
    expect_user(&r.app, &r.written[1], "bob").await;
    // `no-store` is kept for SESSION_JWKS_CACHE_MIN, then fetched again.
    status_after_fetch(&r.app, &r.server, &r.written[1], 3).await;
}

#[test]
fn jwks_cache_bounds_are_checked_at_start_up() {
    let url = ("SESSION_JWKS_URL", "http://127.0.0.1:9/jwks");
    let rs = ("SESSION_JWT_ALGORITHMS", "RS256");
    for (var, value) in [
        ("SESSION_JWKS_CACHE_MIN", "0"),
        ("SESSION_JWKS_CACHE_MIN", "500ms"),
        ("SESSION_JWKS_CACHE_MIN", "soon"),
        ("SESSION_JWKS_CACHE_MAX", "2d"),
    ] {
        let errors = config_with(&env(&[url, rs, (var, value)]))
            .err()
            .unwrap_or_else(|| panic!("{var}={value} was accepted"));
        assert!(errors.mentions(var), "{errors}");
    }
    let inverted = config_with(&env(&[
        url,
        rs,
        ("SESSION_JWKS_CACHE_MIN", "10m"),
        ("SESSION_JWKS_CACHE_MAX", "5m"),
    ]));
    assert!(inverted.unwrap_err().mentions("SESSION_JWKS_CACHE_MAX"));
    assert!(config_with(&env(&[url, rs, ("SESSION_JWKS_CACHE_MIN", "2h")])).is_ok());
}

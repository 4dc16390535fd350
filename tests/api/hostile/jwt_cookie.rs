//! Hostile `jwt-cookie` values, against an HS256 secret, an RS256 PEM key
//! and a JWKS file: `alg: none`, the PEM used as an HMAC secret, embedded
//! keys, `crit` and `b64: false`, `kid` tricks, malformed segments, giant
//! claims. The HS256 cases are signed here with the configured secret, so
//! each is refused for its own shape, not for a bad signature; a control
//! token signed the same way must pass. Each must be a 401
//! `unauthenticated` (never a token, never a 5xx), and the service must
//! keep serving.

use serde_json::{json, Value};

use super::formats::values;
use super::jws_cases::*;
use super::refused;
use crate::support::*;

const COOKIE: &str = "__session";

fn named(list: Vec<(&'static str, String)>) -> Vec<(String, String)> {
    list.into_iter()
        .map(|(name, token)| (name.to_owned(), format!("{COOKIE}={token}")))
        .collect()
}

fn generic() -> Vec<(String, String)> {
    values(COOKIE)
        .into_iter()
        .map(|cookie| (cookie.chars().take(40).collect(), cookie))
        .collect()
}

fn env<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("SESSION_BACKEND", "jwt-cookie"),
        ("SESSION_COOKIE", COOKIE),
        ("SESSION_SECRET", ""),
        ("RATE_LIMIT_IP", "off"),
        ("RATE_LIMIT_SUBJECT", "off"),
    ];
    env.extend_from_slice(extra);
    env
}

#[tokio::test]
async fn hostile_jws_cookies_are_401_with_an_hmac_secret() {
    let app = spawn_app_with(&env(&[
        ("SESSION_JWT_KEY", SECRET),
        ("SESSION_JWT_ALGORITHMS", "HS256"),
    ]))
    .await;
    // The control: signed the same way, with a plain header, it passes.
    let good = format!(
        "{COOKIE}={}",
        sign(SECRET.as_bytes(), hs(), &claims("alice"))
    );
    let (_, issued) = expect_token(app.post_token(Some(&good)).await).await;
    assert_eq!(issued.sub, "alice");
    let mut cases = named(secret_cases());
    cases.extend(generic());
    let failures = refused(&app, "HS256", &cases, &good, 200).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn hostile_jws_cookies_are_401_with_a_pem_key_or_a_jwks() {
    let answer = node_writer(
        "jwt-cookie",
        &["jose"],
        &json!({
            "keys": {"rsa": "RS256", "attacker": "RS256"},
            "cases": [
                {"key": "rsa", "claims": {"sub": "alice"}},
                {"key": "rsa", "kid": "k1", "claims": {"sub": "alice"}},
                {"key": "attacker", "kid": "k1", "header": {"jwk": {"jwkOf": "attacker"}}, "claims": {"sub": "mallory"}},
                {"key": "attacker", "header": {"jwk": {"jwkOf": "attacker"}}, "claims": {"sub": "mallory"}},
                {"key": "attacker", "kid": "k1", "header": {"jku": "http://127.0.0.1:9/jwks"}, "claims": {"sub": "mallory"}},
                {"key": "rsa", "claims": {"sub": "alice"}, "expiresIn": 3_000_000_000u64},
                {"key": "rsa", "kid": "../k1", "claims": {"sub": "mallory"}},
                {"key": "rsa", "kid": "k1\u{0}", "claims": {"sub": "mallory"}},
                {"key": "rsa", "kid": "K1", "claims": {"sub": "mallory"}},
            ],
        }),
    );
    let written = cookies(&answer);
    let pem = answer["keys"]["rsa"]["pem"].as_str().expect("a PEM");
    let mut jwk = answer["keys"]["rsa"]["jwk"].clone();
    jwk["kid"] = json!("k1");
    let dir = scratch_dir().join(format!("hostile-jwks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jwks.json");
    std::fs::write(&file, json!({"keys": [jwk]}).to_string()).unwrap();

    let now = realtime_token::token::unix_now();
    let good = json!({"sub": "mallory", "exp": now + 600});
    let rs = |extra: Value| {
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        header
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        header
    };
    let forged_sig = b64u(&[7u8; 256]);
    let mut cases = named(vec![
        // The key-confusion attack: HS256 keyed with the public key's bytes.
        (
            "HS256 keyed with the PEM",
            sign(pem.as_bytes(), hs(), &good),
        ),
        (
            "HS256 keyed with the PEM and a newline",
            sign(format!("{pem}\n").as_bytes(), hs(), &good),
        ),
        (
            "HS256 keyed with the JWK n",
            sign(jwk["n"].as_str().unwrap().as_bytes(), hs(), &good),
        ),
        (
            "HS256 keyed with the PEM, kid k1",
            sign(pem.as_bytes(), json!({"alg": "HS256", "kid": "k1"}), &good),
        ),
        (
            "alg none",
            format!("{}.{}.", part(&json!({"alg": "none"})), part(&good)),
        ),
        (
            "alg none, kid k1",
            format!(
                "{}.{}.",
                part(&json!({"alg": "none", "kid": "k1"})),
                part(&good)
            ),
        ),
        (
            "RS256, forged signature",
            format!("{}.{}.{forged_sig}", part(&rs(json!({}))), part(&good)),
        ),
        (
            "RS256, empty signature",
            format!("{}.{}.", part(&rs(json!({"kid": "k1"}))), part(&good)),
        ),
        (
            "RS256, kid path",
            format!(
                "{}.{}.{forged_sig}",
                part(&rs(json!({"kid": "../../../../etc/passwd"}))),
                part(&good)
            ),
        ),
        (
            "RS256, kid a number",
            format!(
                "{}.{}.{forged_sig}",
                part(&rs(json!({"kid": 1}))),
                part(&good)
            ),
        ),
        (
            "RS256, kid a list",
            format!(
                "{}.{}.{forged_sig}",
                part(&rs(json!({"kid": ["k1"]}))),
                part(&good)
            ),
        ),
        (
            "RS256, kid huge",
            format!(
                "{}.{}.{forged_sig}",
                part(&rs(json!({"kid": "k".repeat(3000)}))),
                part(&good)
            ),
        ),
        (
            "PS256 over the RSA key",
            format!(
                "{}.{}.{forged_sig}",
                part(&json!({"alg": "PS256", "kid": "k1"})),
                part(&good)
            ),
        ),
        (
            "ES256 over the RSA key",
            format!(
                "{}.{}.{}",
                part(&json!({"alg": "ES256", "kid": "k1"})),
                part(&good),
                b64u(&[1u8; 64])
            ),
        ),
    ]);
    cases.extend(generic());
    let labelled = ["embedded jwk + kid k1", "embedded jwk", "jku + kid k1"];
    for (name, cookie) in labelled.iter().zip(&written[2..5]) {
        cases.push(((*name).to_owned(), cookie.clone()));
    }
    let kid_tricks = [
        "kid ../k1 (real key)",
        "kid k1 NUL (real key)",
        "kid K1 (real key)",
    ];
    let jwks_only: Vec<(String, String)> = kid_tricks
        .iter()
        .zip(&written[6..9])
        .map(|(name, cookie)| ((*name).to_owned(), cookie.clone()))
        .collect();

    let file = file.to_str().unwrap();
    let mut failures = Vec::new();
    for (label, source) in [
        ("PEM", ("SESSION_JWT_KEY", pem)),
        ("JWKS", ("SESSION_JWKS_FILE", file)),
    ] {
        let app = spawn_app_with(&env(&[source, ("SESSION_JWT_ALGORITHMS", "RS256,PS256")])).await;
        // The control: a token jose signed with the real key passes (the
        // PEM takes it without a kid, the JWKS by its kid).
        let good = if label == "PEM" {
            &written[0]
        } else {
            &written[1]
        };
        let res = app.post_token(Some(good)).await;
        assert_eq!(res.status(), 200, "{label}: {}", res.text().await.unwrap());
        let (_, issued) = expect_token(app.post_token(Some(good)).await).await;
        assert_eq!(issued.sub, "alice", "{label}");
        // exp about 95 years ahead, signed by the real key: a token, but
        // one that still lives only as long as this service's own tokens.
        let res = app.post_token(Some(&written[5])).await;
        assert_eq!(
            res.status(),
            200,
            "{label}: far exp: {}",
            res.text().await.unwrap()
        );
        let (_, far) = expect_token(app.post_token(Some(&written[5])).await).await;
        assert!(
            far.exp <= realtime_token::token::unix_now() + 3600,
            "{label}: exp {}",
            far.exp
        );
        failures.extend(refused(&app, label, &cases, good, 200).await);
        if label == "JWKS" {
            failures.extend(refused(&app, label, &jwks_only, good, 200).await);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

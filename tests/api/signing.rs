//! ES256 and EdDSA signing (`JWT_ALGORITHM`, `JWT_PRIVATE_KEY_FILE`) and the
//! JWKS at `/.well-known/jwks.json`: tokens carry the key's `kid` and verify
//! against the served keys; every unusable key is a start-up error naming
//! the variable and the fix.

use realtime_token::token::{SigningAlgorithm, TokenVerifier, VerifyError};
use serde_json::Value;

use crate::support::*;

const ALGS: [SigningAlgorithm; 2] = [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA];

/// GET `/.well-known/jwks.json`: (status, Cache-Control, body).
pub async fn get_jwks(app: &TestApp) -> (u16, String, Value) {
    let res = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let cache = res
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, cache, res.json().await.unwrap())
}

/// A token for alice from `app`.
pub async fn token_for_alice(app: &TestApp) -> String {
    let res = app.post_token(Some(&app.cookie("alice"))).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// The verification rules of the test environment for `alg`.
pub fn rules(alg: SigningAlgorithm) -> realtime_token::token::VerifyRules {
    realtime_token::token::VerifyRules {
        algorithm: alg,
        issuer: Some(ISSUER.into()),
        audience: Some(AUDIENCE.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn tokens_carry_the_thumbprint_kid_and_verify_against_the_served_jwks() {
    for alg in ALGS {
        let key = key_file(alg);
        let app = spawn_app_with(&pairs(&signing_env(alg, &key))).await;
        let token = token_for_alice(&app).await;
        let header = header_json(&token);
        let public = public_of(&key, alg);
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(header["kid"], public.thumbprint());

        let (status, cache, jwks) = get_jwks(&app).await;
        assert_eq!(status, 200);
        assert_eq!(cache, "public, max-age=300");
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "{jwks}");
        assert_eq!(keys[0]["kid"], public.thumbprint());
        assert_eq!(keys[0]["use"], "sig");
        assert!(keys[0].get("d").is_none(), "a private member is published");
        let verifier = TokenVerifier::from_jwks(&rules(alg), &jwks.to_string()).unwrap();
        let claims = verifier.verify(&token).unwrap();
        assert_eq!(claims.sub, "alice");
        assert!(claims.can_join("document-1"));

        // Independently of the service's verifier: jsonwebtoken with the
        // served JWK.
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(keys[0].clone()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(alg.jwt());
        validation.set_audience(&[AUDIENCE]);
        let decoded = jsonwebtoken::decode::<Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims["sub"], "alice");
    }
}

#[tokio::test]
async fn keys_written_by_openssl_sign() {
    let keys = [
        (
            SigningAlgorithm::ES256,
            openssl_key(
                "openssl-p256-",
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            ),
        ),
        (
            SigningAlgorithm::EdDSA,
            openssl_key("openssl-ed25519-", &["-algorithm", "ed25519"]),
        ),
    ];
    for (alg, key) in keys {
        let app = spawn_app_with(&pairs(&signing_env(alg, &key))).await;
        let token = token_for_alice(&app).await;
        let (_, _, jwks) = get_jwks(&app).await;
        let verifier = TokenVerifier::from_jwks(&rules(alg), &jwks.to_string()).unwrap();
        assert_eq!(verifier.verify(&token).unwrap().sub, "alice", "{alg}");
        // The public half openssl derives is the key the JWKS publishes.
        let public = std::fs::read_to_string(openssl_public(&key)).unwrap();
        let from_openssl = realtime_token::token::PublicKey::from_pem(&public, alg).unwrap();
        assert_eq!(jwks["keys"][0]["x"], from_openssl.jwk()["x"], "{alg}");
    }
}

#[tokio::test]
async fn the_jwks_is_404_under_hs256() {
    let app = spawn_app().await;
    let (status, cache, body) = get_jwks(&app).await;
    assert_eq!((status, cache.as_str()), (404, "no-store"));
    assert_eq!(body["error"], "not_found");
    assert!(
        body["message"].as_str().unwrap().contains("HS256"),
        "{body}"
    );
    let head = app
        .client
        .head(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 404);
}

#[tokio::test]
async fn published_keys_join_the_jwks_under_their_kids() {
    let alg = SigningAlgorithm::ES256;
    let (key, old, next) = (key_file(alg), key_file(alg), key_file(alg));
    // The next key as a public PEM only; the old one named by its kid.
    let next_public = openssl_public(&next);
    let mut env = signing_env(alg, &key);
    env.push(("JWT_KEY_ID", "2026-11".into()));
    env.push((
        "JWT_PUBLISHED_KEY_FILES",
        format!("2026-10:{old}, {next_public}"),
    ));
    let app = spawn_app_with(&pairs(&env)).await;
    let token = token_for_alice(&app).await;
    assert_eq!(header_json(&token)["kid"], "2026-11");
    let (_, _, jwks) = get_jwks(&app).await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    let next_kid = public_of(&next, alg).thumbprint();
    assert_eq!(kids, ["2026-11", "2026-10", next_kid.as_str()]);
    // The service's own verifier accepts a token of every published key.
    let config = config_with(&pairs(&env)).unwrap();
    let verifier = TokenVerifier::new(&config.jwt);
    assert_eq!(verifier.verify(&token).unwrap().sub, "alice");
}

#[tokio::test]
async fn an_alg_swap_to_hs256_with_the_public_key_is_refused() {
    let alg = SigningAlgorithm::ES256;
    let key = key_file(alg);
    let app = spawn_app_with(&pairs(&signing_env(alg, &key))).await;
    let token = token_for_alice(&app).await;
    let (_, _, jwks) = get_jwks(&app).await;
    // The classic confusion: HS256 "signed" with the public key as secret.
    let (head_payload, _) = token.rsplit_once('.').unwrap();
    let payload = head_payload.split('.').nth(1).unwrap();
    let header = base64_url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let message = format!("{header}.{payload}");
    for secret in [
        jwks["keys"][0].to_string(),
        public_of(&key, alg).jwk()["x"].to_string(),
    ] {
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes()),
            message.as_bytes(),
        );
        let forged = format!("{message}.{}", base64_url(mac.as_ref()));
        let verifier = TokenVerifier::from_jwks(&rules(alg), &jwks.to_string()).unwrap();
        assert_eq!(
            verifier.verify(&forged),
            Err(VerifyError::WrongAlgorithm(alg))
        );
    }
    // And no verifier of HS256 takes a JWKS at all.
    assert!(TokenVerifier::from_jwks(&rules(SigningAlgorithm::HS256), &jwks.to_string()).is_err());
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The configuration errors of `env` (on top of the test base).
fn errors(env: &[(&str, &str)]) -> Vec<realtime_token::config::ConfigError> {
    config_with(env).expect_err("refused").0
}

/// Asserts one error, on `var`, containing every one of `words`.
fn refused(env: &[(&str, &str)], var: &str, words: &[&str]) {
    let errors = errors(env);
    let error = errors
        .iter()
        .find(|e| e.var == var)
        .unwrap_or_else(|| panic!("{env:?}: no error on {var}: {errors:?}"));
    for word in words {
        assert!(error.message.contains(word), "{env:?}: {error}");
    }
}

#[test]
fn unusable_keys_are_start_up_errors_naming_the_variable_and_the_fix() {
    let es = [("JWT_ALGORITHM", "ES256"), ("JWT_SECRET", "")];
    let with_key = |alg: &'static str, path: &str| {
        vec![
            ("JWT_ALGORITHM", alg.to_owned()),
            ("JWT_SECRET", String::new()),
            ("JWT_PRIVATE_KEY_FILE", path.to_owned()),
        ]
    };
    refused(
        &es,
        "JWT_PRIVATE_KEY_FILE",
        &["not set", "realtime-token keygen --alg ES256"],
    );
    refused(
        &[("JWT_ALGORITHM", "RS256")],
        "JWT_ALGORITHM",
        &["not supported", "ES256", "EdDSA"],
    );
    refused(&[("JWT_ALGORITHM", "es256")], "JWT_ALGORITHM", &["`ES256`"]);

    let ed = key_file(SigningAlgorithm::EdDSA);
    let p256 = key_file(SigningAlgorithm::ES256);
    let genpkey = |name: &str, args: &str| openssl_key(name, &args.split(' ').collect::<Vec<_>>());
    let rsa = genpkey("rsa-", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048");
    let p384 = genpkey("p384-", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384");
    let encrypted = genpkey(
        "encrypted-",
        "-algorithm ed25519 -aes-256-cbc -pass pass:correct-horse",
    );
    let sec1 = openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout"]);
    let sec1 = temp_file("sec1-", &sec1)
        .into_os_string()
        .into_string()
        .unwrap();
    let public = openssl_public(&p256);
    let decrypt = format!("openssl pkey -in {encrypted} -out key.pem");
    // (JWT_ALGORITHM, the key file, what the JWT_PRIVATE_KEY_FILE error says)
    let cases: [(&str, &str, &[&str]); 7] = [
        (
            "ES256",
            &ed,
            &[&ed, "holds an Ed25519 key", "JWT_ALGORITHM=EdDSA"],
        ),
        (
            "EdDSA",
            &p256,
            &["holds a P-256 EC key", "JWT_ALGORITHM=ES256"],
        ),
        (
            "ES256",
            &rsa,
            &["holds an RSA key", "realtime-token keygen --alg ES256"],
        ),
        (
            "ES256",
            &p384,
            &["an EC key on P-384", "needs a P-256 EC key"],
        ),
        ("EdDSA", &encrypted, &["is encrypted", &decrypt]),
        ("ES256", &sec1, &["SEC1", "openssl pkcs8 -topk8 -nocrypt"]),
        ("ES256", &public, &["holds a public key"]),
    ];
    for (alg, path, words) in cases {
        refused(&pairs(&with_key(alg, path)), "JWT_PRIVATE_KEY_FILE", words);
    }
    let garbage = temp_file("garbage-", "not a key\n");
    refused(
        &pairs(&with_key("ES256", garbage.to_str().unwrap())),
        "JWT_PRIVATE_KEY_FILE",
        &["is not a PEM file"],
    );
    // Under HS256 (the default) a key file would sign nothing: refused.
    refused(
        &[("JWT_PRIVATE_KEY_FILE", p256.as_str())],
        "JWT_PRIVATE_KEY_FILE",
        &["JWT_ALGORITHM is HS256", "JWT_ALGORITHM=ES256"],
    );
    refused(
        &[("JWT_KEY_ID", "k1")],
        "JWT_KEY_ID",
        &["JWT_ALGORITHM is HS256"],
    );
    // Published keys: of the signing algorithm, one key per kid.
    let mut env = with_key("ES256", &p256);
    env.push(("JWT_PUBLISHED_KEY_FILES", ed.clone()));
    refused(
        &pairs(&env),
        "JWT_PUBLISHED_KEY_FILES",
        &["holds an Ed25519 key"],
    );
    let other = key_file(SigningAlgorithm::ES256);
    let mut env = with_key("ES256", &p256);
    env.push(("JWT_KEY_ID", "k1".into()));
    env.push(("JWT_PUBLISHED_KEY_FILES", format!("k1:{other}")));
    refused(
        &pairs(&env),
        "JWT_PUBLISHED_KEY_FILES",
        &["`k1` names two different keys"],
    );
    let mut env = with_key("ES256", &p256);
    env.push(("JWT_KEY_ID", "not a kid".into()));
    refused(&pairs(&env), "JWT_KEY_ID", &["1-64 letters"]);

    // No error ever shows key material.
    let pem = std::fs::read_to_string(&ed).unwrap();
    let body = pem.lines().nth(1).unwrap();
    let all = errors(&pairs(&with_key("ES256", &ed)));
    assert!(all.iter().all(|e| !e.message.contains(body)));
}

#[test]
fn the_hs256_secret_is_not_required_and_warned_about_when_unused() {
    let key = key_file(SigningAlgorithm::EdDSA);
    let env = signing_env(SigningAlgorithm::EdDSA, &key);
    let config = config_with(&pairs(&env)).unwrap();
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    let mut with_secret = env.clone();
    with_secret.retain(|(k, _)| *k != "JWT_SECRET");
    let config = config_with(&pairs(&with_secret)).unwrap();
    let warnings = config.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("JWT_SECRET is set but not used: tokens are signed with EdDSA")),
        "{warnings:?}"
    );
    assert!(warnings.iter().all(|w| !w.contains(JWT_SECRET)));
}

#[test]
fn check_config_says_which_signing_mode_is_active() {
    let out = run_cli(&[], &["check-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("token signing: HS256 with a shared secret"),
        "{text}"
    );
    assert!(text.contains("no JWKS"), "{text}");

    let key = key_file(SigningAlgorithm::ES256);
    let kid = public_of(&key, SigningAlgorithm::ES256).thumbprint();
    let env = signing_env(SigningAlgorithm::ES256, &key);
    let out = run_cli(&pairs(&env), &["check-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "token signing: ES256 with the private key in {key} (kid {kid})"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("jwks keys: {kid} (ES256)")),
        "{text}"
    );
    assert!(text.contains("self-check: minted and verified"), "{text}");
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(
        !text.contains(pem.lines().nth(1).unwrap()),
        "key material printed"
    );

    // A bad key stops `check-config` (and `serve`) with the variable named.
    let env = [
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_SECRET", ""),
        ("JWT_PRIVATE_KEY_FILE", key.as_str()),
    ];
    let out = run_cli(&env, &["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("JWT_PRIVATE_KEY_FILE: `"),
        "{}",
        stderr(&out)
    );
    let out = run_cli(&env, &["serve"]);
    assert_eq!(out.status.code(), Some(2));
}

//! `realtime-token keygen` and `realtime-token verify --jwks`: keys that
//! openssl reads as it writes them, and tokens checked against the served
//! JWKS (a URL or a file) with the configured algorithm pinned.

use std::process::Output;

use realtime_token::token::SigningAlgorithm;

use crate::signing::{get_jwks, token_for_alice};
use crate::support::*;

/// `realtime-token keygen --alg <alg>`: the PEM and the kid it reports.
fn keygen(alg: &str) -> (String, String) {
    let out = run_cli(&[], &["keygen", "--alg", alg]);
    assert!(out.status.success(), "{}", stderr(&out));
    let kid = stderr(&out)
        .lines()
        .find_map(|l| l.strip_prefix("kid (RFC 7638 thumbprint): "))
        .expect("the kid is reported")
        .to_owned();
    (stdout(&out), kid)
}

#[test]
fn keygen_writes_what_openssl_writes_and_reports_the_kid() {
    for (alg, text) in [
        ("ES256", "ASN1 OID: prime256v1"),
        ("EdDSA", "ED25519 Private-Key"),
    ] {
        let (pem, kid) = keygen(alg);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        let path = temp_file("keygen-", &pem);
        let path = path.to_str().unwrap();
        // openssl reads it and writes it back byte for byte: the same form.
        assert_eq!(openssl(&["pkey", "-in", path]), pem, "{alg}");
        assert!(openssl(&["pkey", "-in", path, "-noout", "-text"]).contains(text));
        // The reported kid is the thumbprint of the public key openssl derives.
        let public = std::fs::read_to_string(openssl_public(path)).unwrap();
        let alg: SigningAlgorithm = alg.parse().unwrap();
        let public = realtime_token::token::PublicKey::from_pem(&public, alg).unwrap();
        assert_eq!(public.thumbprint(), kid);
        // Each run makes a new key.
        assert_ne!(keygen(alg.as_str()).0, pem);
    }
}

#[test]
fn keygen_out_makes_a_private_file_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt as _;
    let path = scratch_dir().join(unique("keygen-out-"));
    let path_text = path.to_str().unwrap();
    let out = run_cli(&[], &["keygen", "--alg", "ES256", "--out", path_text]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "the key went to stdout too");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let first = std::fs::read_to_string(&path).unwrap();
    assert!(stderr(&out).contains(&format!("JWT_PRIVATE_KEY_FILE={path_text}")));
    let again = run_cli(&[], &["keygen", "--alg", "ES256", "--out", path_text]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("never overwrites"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first);

    for (alg, why) in [("HS256", "shared secret"), ("RS256", "not supported")] {
        let out = run_cli(&[], &["keygen", "--alg", alg]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(why), "{}", stderr(&out));
    }
}

/// `realtime-token verify --jwks <source> <token>` with `JWT_ALGORITHM=alg`
/// and the test's issuer and audience, without any key file.
async fn verify_with(alg: &str, source: &str, token: &str) -> Output {
    let args = ["verify", "--jwks", source, token].map(str::to_owned);
    let alg = alg.to_owned();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_cli(&[("JWT_ALGORITHM", &alg)], &args)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn verify_jwks_checks_tokens_against_a_url_or_a_file() {
    for alg in [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA] {
        let app = spawn_app_with(&pairs(&signing_env(alg, &key_file(alg)))).await;
        let token = token_for_alice(&app).await;
        let url = app.url("/.well-known/jwks.json");
        let out = verify_with(alg.as_str(), &url, &token).await;
        assert!(out.status.success(), "{alg}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("\"sub\": \"alice\""),
            "{}",
            stdout(&out)
        );
        assert!(stderr(&out).contains(&format!("valid: {alg} signature matches")));

        let (_, _, jwks) = get_jwks(&app).await;
        let file = temp_file("jwks-", &jwks.to_string());
        let out = verify_with(alg.as_str(), file.to_str().unwrap(), &token).await;
        assert!(out.status.success(), "{alg}: {}", stderr(&out));
    }
}

#[tokio::test]
async fn verify_jwks_refuses_unknown_keys_swapped_algs_and_hs256() {
    let alg = SigningAlgorithm::ES256;
    let app = spawn_app_with(&pairs(&signing_env(alg, &key_file(alg)))).await;
    let url = app.url("/.well-known/jwks.json");
    // A token of a key the JWKS does not hold: its kid is unknown.
    let stranger = spawn_app_with(&pairs(&signing_env(alg, &key_file(alg)))).await;
    let foreign = token_for_alice(&stranger).await;
    let out = verify_with("ES256", &url, &foreign).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("key id `"), "{}", stderr(&out));

    let token = token_for_alice(&app).await;
    // HS256 is never verified with a public key; the other algorithm's
    // keys are not in this JWKS.
    for (configured, why) in [
        ("HS256", "never verified with a public key"),
        ("EdDSA", "has no EdDSA signing key"),
    ] {
        let out = verify_with(configured, &url, &token).await;
        assert_eq!(out.status.code(), Some(2), "{configured}");
        assert!(stderr(&out).contains(why), "{configured}: {}", stderr(&out));
    }
    // An unreachable URL or a missing file is a setup error, not a verdict.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/.well-known/jwks.json", l.local_addr().unwrap())
    };
    for source in [closed.as_str(), "/nonexistent/jwks.json"] {
        let out = verify_with("ES256", source, &token).await;
        assert_eq!(out.status.code(), Some(2), "{source}");
        assert!(stderr(&out).contains("--jwks: cannot"), "{}", stderr(&out));
    }
}

#[tokio::test]
async fn mint_and_verify_use_the_configured_key_pair() {
    let alg = SigningAlgorithm::EdDSA;
    let key = key_file(alg);
    let env = signing_env(alg, &key);
    let out = run_cli(
        &pairs(&env),
        &["mint", "--sub", "zoe", "--rooms", "document-1"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out).trim().to_owned();
    assert_eq!(header_json(&token)["alg"], "EdDSA");
    assert_eq!(
        header_json(&token)["kid"],
        public_of(&key, alg).thumbprint()
    );
    let out = run_cli(&pairs(&env), &["verify", &token]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("valid: EdDSA signature matches"));
    // Another key pair does not verify it.
    let other = signing_env(alg, &key_file(alg));
    let out = run_cli(&pairs(&other), &["verify", &token]);
    assert_eq!(out.status.code(), Some(1));
}

//! Microbenchmark: the time to issue (claims + signature) and to verify one
//! token with HS256, ES256 and EdDSA, in this process, one core. Run it
//! through `bench/sign.sh` (release build, with the date, commit and load
//! average); it is no test and asserts nothing.
//!
//! env: SIGN_BENCH_SECS (seconds per measurement, default 1), SIGN_BENCH_ROUNDS
//! (measurements per row, the median is printed; default 5).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use realtime_token::config::Secret;
use realtime_token::token::{JwtConfig, JwtKey, KeySet, PrivateKey, Signing, SigningAlgorithm};
use realtime_token::{TokenIssuer, TokenVerifier};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// The settings of a service signing with `alg` (a new key each run).
fn config(alg: SigningAlgorithm) -> JwtConfig {
    let signing = match alg {
        SigningAlgorithm::HS256 => Signing::Hmac(vec![JwtKey {
            kid: None,
            secret: Secret::new("sign-bench-secret-0123456789abcdef-0123456789"),
        }]),
        alg => {
            let pem = PrivateKey::generate(alg).expect("a key");
            Signing::Asymmetric(KeySet {
                signing: Arc::new(PrivateKey::from_pem(&pem, alg).expect("its own key")),
                signing_file: "(generated)".into(),
                published: Vec::new(),
            })
        }
    };
    JwtConfig {
        signing,
        leeway: Duration::from_secs(30),
        issuer: Some("bench".into()),
        audience: Some("realtime-sdk".into()),
        ttl: Duration::from_secs(3600),
        unused: Vec::new(),
    }
}

/// Median over `rounds` of the mean time per call of `f`, each round
/// running for about `per_round`.
fn measure(rounds: u64, per_round: Duration, mut f: impl FnMut()) -> Duration {
    // Calibrate: how many calls fill a round.
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < per_round / 10 {
        f();
        calls += 1;
    }
    let batch = (calls * 10).max(10);
    let mut means: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            start.elapsed() / batch as u32
        })
        .collect();
    means.sort();
    means[means.len() / 2]
}

fn micros(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e6)
}

fn main() {
    let per_round = Duration::from_secs(env_number("SIGN_BENCH_SECS", 1));
    let rounds = env_number("SIGN_BENCH_ROUNDS", 5);
    let rooms = vec!["document-*".to_owned(), "user-alice".to_owned()];
    let mut rows = Vec::new();
    for alg in [
        SigningAlgorithm::HS256,
        SigningAlgorithm::ES256,
        SigningAlgorithm::EdDSA,
    ] {
        let config = config(alg);
        let issuer = TokenIssuer::new(&config);
        let verifier = TokenVerifier::new(&config);
        let token = issuer.issue("alice", rooms.clone()).expect("signs").token;
        let issue = measure(rounds, per_round, || {
            black_box(
                issuer
                    .issue(black_box("alice"), rooms.clone())
                    .expect("signs"),
            );
        });
        let verify = measure(rounds, per_round, || {
            black_box(verifier.verify(black_box(&token)).expect("verifies"));
        });
        rows.push((alg, issue, verify, token.len()));
    }
    let (base_issue, base_verify) = (rows[0].1, rows[0].2);
    println!("| alg | issue µs/token | issue / HS256 | verify µs/token (TokenVerifier) | verify / HS256 | token bytes |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (alg, issue, verify, len) in rows {
        println!(
            "| {alg} | {} | {:.2} | {} | {:.2} | {len} |",
            micros(issue),
            issue.as_secs_f64() / base_issue.as_secs_f64(),
            micros(verify),
            verify.as_secs_f64() / base_verify.as_secs_f64(),
        );
    }
    println!();
    println!(
        "median of {rounds} rounds of ~{} s each per cell; one thread",
        per_round.as_secs()
    );
}

//! Key files for the ES256 and EdDSA tests: written by the service's own
//! `PrivateKey::generate` (what `realtime-token keygen` prints) or by the
//! real `openssl` command line, each in a file of its own.

use std::path::PathBuf;
use std::process::Command;

use realtime_token::token::{PrivateKey, SigningAlgorithm};

use super::{scratch_dir, unique};

/// Writes `contents` to a new file in the scratch directory; its path.
pub fn temp_file(name: &str, contents: &str) -> PathBuf {
    let path = scratch_dir().join(unique(name));
    std::fs::write(&path, contents).unwrap();
    path
}

/// A new key for `alg`, as `realtime-token keygen` writes it, in a file.
pub fn key_file(alg: SigningAlgorithm) -> String {
    let pem = PrivateKey::generate(alg).unwrap();
    path_text(temp_file(&format!("{alg}-key-"), &pem))
}

/// The public key of `key`, as `PublicKey::from_pem` reads it (its kid is
/// the thumbprint).
pub fn public_of(key: &str, alg: SigningAlgorithm) -> realtime_token::token::PublicKey {
    let pem = std::fs::read_to_string(key).unwrap();
    realtime_token::token::PublicKey::from_pem(&pem, alg).unwrap()
}

/// Runs `openssl` with `args`; its standard output. Installed by
/// `scripts/test` (Debian's `openssl`).
pub fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("openssl: {e}; install it (`apt-get install openssl`, as scripts/test does)")
        });
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `openssl genpkey` with `args` writing a PKCS#8 PEM to a new file.
pub fn openssl_key(name: &str, args: &[&str]) -> String {
    let path = path_text(scratch_dir().join(unique(name)));
    let mut all = vec!["genpkey"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-out", &path]);
    openssl(&all);
    path
}

/// The public half of the key file `key` (`openssl pkey -pubout`) in a new
/// file.
pub fn openssl_public(key: &str) -> String {
    let pem = openssl(&["pkey", "-in", key, "-pubout"]);
    path_text(temp_file("public-", &pem))
}

/// The environment of a service signing with `alg` and the key at `key`.
pub fn signing_env(alg: SigningAlgorithm, key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("JWT_ALGORITHM", alg.to_string()),
        ("JWT_PRIVATE_KEY_FILE", key.to_owned()),
        ("JWT_SECRET", String::new()),
    ]
}

/// `(name, value)` pairs as the `&str` pairs the spawn helpers take.
pub fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn path_text(path: PathBuf) -> String {
    path.into_os_string().into_string().unwrap()
}

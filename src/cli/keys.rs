//! `keygen` (a new ES256 or EdDSA signing key) and the JWKS `verify
//! --jwks` reads (a file or a URL).

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::EXIT_CONFIG;
use crate::token::jwks::MAX_JWKS_BYTES;
use crate::token::{PrivateKey, PublicKey, SigningAlgorithm};

/// How long `verify --jwks URL` waits for the document.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn keygen(alg: &str, out: Option<&Path>) -> ExitCode {
    let alg = match alg.parse::<SigningAlgorithm>() {
        Ok(alg) if alg.is_asymmetric() => alg,
        Ok(_) => {
            eprintln!("--alg: HS256 uses a shared secret, not a key pair; make one with `openssl rand -base64 48`");
            return ExitCode::from(EXIT_CONFIG);
        }
        Err(e) => {
            eprintln!("--alg: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let pem = match PrivateKey::generate(alg) {
        Ok(pem) => pem,
        Err(e) => {
            eprintln!("keygen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let kid = PublicKey::from_pem(&pem, alg).map(|k| k.thumbprint());
    match out {
        None => print!("{pem}"),
        Some(path) => {
            if let Err(e) = write_new_private(path, &pem) {
                eprintln!("--out {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let file = out.map_or("<the file>".into(), |p| p.display().to_string());
    if let Ok(kid) = kid {
        eprintln!("kid (RFC 7638 thumbprint): {kid}");
    }
    eprintln!("sign with it: JWT_ALGORITHM={alg} JWT_PRIVATE_KEY_FILE={file}");
    ExitCode::SUCCESS
}

/// Creates `path` (never over an existing file), readable by its owner only.
fn write_new_private(path: &Path, pem: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            std::io::Error::other("the file exists; keygen never overwrites a key")
        }
        _ => e,
    })?;
    file.write_all(pem.as_bytes())?;
    file.sync_all()
}

/// The JWKS at `source`: an `http://` or `https://` URL, else a file.
pub(super) fn read_jwks(source: &str) -> Result<String, String> {
    if source.starts_with("https://") || source.starts_with("http://") {
        return fetch(source);
    }
    let meta = std::fs::metadata(source).map_err(|e| format!("cannot read `{source}`: {e}"))?;
    if meta.len() > MAX_JWKS_BYTES as u64 {
        return Err(format!("`{source}` is over {MAX_JWKS_BYTES} bytes"));
    }
    std::fs::read_to_string(source).map_err(|e| format!("cannot read `{source}`: {e}"))
}

/// One GET of `url`, bounded in time and size.
fn fetch(url: &str) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("realtime-token/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        let mut response = client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("cannot fetch {url}: {}", e.without_url()))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| e.without_url().to_string())?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(format!("{url}: the JWKS is over {MAX_JWKS_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| format!("{url}: the JWKS is not UTF-8"))
    })
}

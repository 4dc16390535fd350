//! The key files of ES256 and EdDSA signing: `JWT_PRIVATE_KEY_FILE`,
//! `JWT_KEY_ID` and `JWT_PUBLISHED_KEY_FILES`; and their refusal under
//! HS256, where they would sign nothing.

use std::io::Read as _;
use std::sync::Arc;

use super::vars::Vars;
use crate::token::{KeySet, PrivateKey, PublicKey, SigningAlgorithm};

/// Largest key file read: a PEM key is well under 1 KiB.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

const PRIVATE: &str = "JWT_PRIVATE_KEY_FILE";
const PUBLISHED: &str = "JWT_PUBLISHED_KEY_FILES";

/// Under HS256, a key file or key id is a mistake (the operator believes
/// tokens are signed with it): each one set is an error.
pub(super) fn refuse_key_files(vars: &mut Vars) {
    for var in [PRIVATE, "JWT_KEY_ID", PUBLISHED] {
        if vars.get(var).is_some() {
            vars.fail(
                var,
                "is set, but JWT_ALGORITHM is HS256 (the default), which signs with JWT_SECRET: \
                 set JWT_ALGORITHM=ES256 or EdDSA to sign with a key pair, or unset it",
            );
        }
    }
}

/// The HS256 secrets that are set although ES256/EdDSA does not read them.
pub(super) fn unused_secrets(vars: &Vars) -> Vec<&'static str> {
    ["JWT_SECRET", "TEST_JWT_SECRET", "JWT_KEYS"]
        .into_iter()
        .filter(|var| vars.get_secret(var).is_some())
        .collect()
}

/// `JWT_PRIVATE_KEY_FILE` (with `JWT_KEY_ID`) and `JWT_PUBLISHED_KEY_FILES`
/// for `alg`.
pub(super) fn read_key_set(vars: &mut Vars, alg: SigningAlgorithm) -> Option<KeySet> {
    let kid = vars.get("JWT_KEY_ID");
    let kid_ok = match &kid {
        Some(kid) => vars.check("JWT_KEY_ID", check_kid(kid)).is_some(),
        None => true,
    };
    let path = vars.get(PRIVATE);
    let signing = match &path {
        None => {
            vars.fail(
                PRIVATE,
                format!(
                    "not set; JWT_ALGORITHM={alg} signs with a private key: make one with \
                     `realtime-token keygen --alg {alg} --out key.pem` and set JWT_PRIVATE_KEY_FILE to its path"
                ),
            );
            None
        }
        Some(path) => read_key_file(vars, PRIVATE, path).and_then(|text| {
            let key = PrivateKey::from_pem(&text, alg).map_err(|e| explain(path, &e.0));
            vars.check(PRIVATE, key)
        }),
    };
    let published = read_published(vars, alg);
    let (signing, published, path) = (signing?, published?, path?);
    if !kid_ok {
        return None;
    }
    let signing = match kid {
        Some(kid) => signing.with_kid(kid),
        None => signing,
    };
    let mut kept: Vec<PublicKey> = Vec::new();
    for key in published {
        let clash = std::iter::once(signing.public())
            .chain(&kept)
            .find(|k| k.kid() == key.kid());
        match clash {
            Some(other) if other.same_key(&key) => {}
            Some(_) => {
                vars.fail(
                    PUBLISHED,
                    format!(
                        "key id `{}` names two different keys; give each key its own id (or none: the thumbprint)",
                        key.kid()
                    ),
                );
                return None;
            }
            None => kept.push(key),
        }
    }
    Some(KeySet {
        signing: Arc::new(signing),
        signing_file: path,
        published: kept,
    })
}

/// `[kid:]path,...`: public keys (or private keys, whose public half is
/// taken) to publish beside the signing key.
fn read_published(vars: &mut Vars, alg: SigningAlgorithm) -> Option<Vec<PublicKey>> {
    let Some(list) = vars.get(PUBLISHED) else {
        return Some(Vec::new());
    };
    let mut keys = Some(Vec::new());
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        // A prefix that is a valid key id names the key; `./a:b.pem` is a path.
        let (kid, path) = match entry.split_once(':') {
            Some((kid, path)) if check_kid(kid).is_ok() => (Some(kid), path.trim()),
            _ => (None, entry),
        };
        let key = read_key_file(vars, PUBLISHED, path).and_then(|text| {
            let key = PublicKey::from_pem(&text, alg).map_err(|e| explain(path, &e.0));
            vars.check(PUBLISHED, key)
        });
        match (key, &mut keys) {
            (Some(key), Some(keys)) => keys.push(match kid {
                Some(kid) => key.with_kid(kid),
                None => key,
            }),
            _ => keys = None,
        }
    }
    keys
}

/// `path`'s key error as a sentence, the `openssl` commands naming it.
fn explain(path: &str, why: &str) -> String {
    format!(
        "`{path}` {}",
        why.replace("-in FILE", &format!("-in {path}"))
    )
}

/// The text of the key file `path`, or an error on `var`.
fn read_key_file(vars: &mut Vars, var: &'static str, path: &str) -> Option<String> {
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path)
        .and_then(|file| file.take(MAX_KEY_FILE_BYTES + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        vars.fail(
            var,
            format!(
                "cannot read `{path}`: {e}; check the path and that the service's user may read it"
            ),
        );
        return None;
    }
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        vars.fail(var, format!("`{path}` is over 64 KiB: not a key file"));
        return None;
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        format!(
            "`{path}` is not a PEM text file; a DER key converts with `openssl pkey -inform DER -in {path} -out key.pem`"
        )
    });
    vars.check(var, text)
}

/// A `kid`: 1-64 letters, digits, `.`, `_`, `-`.
pub(super) fn check_kid(kid: &str) -> Result<(), String> {
    let valid = !kid.is_empty()
        && kid.len() <= 64
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    match valid {
        true => Ok(()),
        false => Err(format!(
            "key id `{}` must be 1-64 letters, digits, `._-`",
            kid.escape_default()
        )),
    }
}

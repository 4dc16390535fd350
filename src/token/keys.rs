//! ES256 and EdDSA keys: a [`PrivateKey`] (PKCS#8 PEM, as `openssl genpkey`
//! writes it) signs with `ring`; a [`PublicKey`] (its public half, or a
//! published key) becomes a JWK whose `kid` is, unless configured, its
//! RFC 7638 thumbprint.

use std::fmt;

use jsonwebtoken::DecodingKey;
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde_json::{json, Value};

use super::der::{self, KeyType};
use super::SigningAlgorithm;
use crate::b64;

/// Why a key cannot be used; the message says how to fix it and never
/// holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

impl KeyError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// The key type `alg` signs with.
fn wanted(alg: SigningAlgorithm) -> KeyType {
    match alg {
        SigningAlgorithm::EdDSA => KeyType::Ed25519,
        _ => KeyType::P256,
    }
}

/// `Err` unless a key of type `found` can sign `alg`.
fn check_type(found: KeyType, alg: SigningAlgorithm) -> Result<(), KeyError> {
    if found == wanted(alg) {
        return Ok(());
    }
    let other = [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA]
        .into_iter()
        .find(|a| wanted(*a) == found);
    let fix = match other {
        Some(other) => format!(
            "set JWT_ALGORITHM={other} to sign with it, or make {} with `realtime-token keygen --alg {alg}`",
            wanted(alg)
        ),
        None => format!(
            "only P-256 (ES256) and Ed25519 (EdDSA) keys sign here; make one with `realtime-token keygen --alg {alg}`"
        ),
    };
    Err(KeyError(format!(
        "holds {found}, but {alg} needs {}: {fix}",
        wanted(alg)
    )))
}

/// The one PEM block of `text`, or why the file cannot be a key.
fn one_block(text: &str) -> Result<der::PemBlock, KeyError> {
    let mut blocks = der::pem_blocks(text)
        .map_err(|why| KeyError(format!("is not a valid PEM file ({why})")))?;
    match blocks.len() {
        0 => Err(KeyError::new(
            "is not a PEM file; expected `-----BEGIN PRIVATE KEY-----`, as `realtime-token keygen` and `openssl genpkey` write it",
        )),
        1 => Ok(blocks.remove(0)),
        n => Err(KeyError(format!("holds {n} PEM blocks; put one key in each file"))),
    }
}

/// Why a PEM block labelled `label` is not the key that was asked for.
fn wrong_label(label: &str) -> KeyError {
    KeyError::new(match label {
        "ENCRYPTED PRIVATE KEY" => {
            "is encrypted, and the service cannot ask for a passphrase: write it out unencrypted \
             (`openssl pkey -in FILE -out key.pem`) and protect that file instead (chmod 600, or your secret store)"
                .to_owned()
        }
        "EC PRIVATE KEY" => {
            "is a SEC1 EC key (`BEGIN EC PRIVATE KEY`); convert it to PKCS#8: \
             `openssl pkcs8 -topk8 -nocrypt -in FILE -out key.pem`"
                .to_owned()
        }
        "RSA PRIVATE KEY" | "RSA PUBLIC KEY" => {
            "holds an RSA key; only P-256 (ES256) and Ed25519 (EdDSA) keys sign here: \
             make one with `realtime-token keygen --alg ES256`"
                .to_owned()
        }
        "PUBLIC KEY" => "holds a public key, not the private key that signs".to_owned(),
        other => format!(
            "holds a `{other}` PEM block, not a PKCS#8 key (`BEGIN PRIVATE KEY`)"
        ),
    })
}

/// A public key that verifies ES256 or EdDSA tokens, with its `kid`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    alg: SigningAlgorithm,
    /// An uncompressed P-256 point (`04 || x || y`) or an Ed25519 key.
    key: Vec<u8>,
    kid: String,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}, kid {})", self.alg, self.kid)
    }
}

impl PublicKey {
    /// From raw key bytes; `Err` when they have the wrong shape for `alg`.
    pub fn from_raw(alg: SigningAlgorithm, key: &[u8]) -> Result<Self, KeyError> {
        let ok = match alg {
            SigningAlgorithm::ES256 => key.len() == 65 && key[0] == 4,
            SigningAlgorithm::EdDSA => key.len() == 32,
            SigningAlgorithm::HS256 => false,
        };
        let mut public = Self {
            alg,
            key: key.to_vec(),
            kid: String::new(),
        };
        // The verifier parses the key (a point on the curve) or fails; an
        // empty signature then merely does not match.
        let parses =
            || jsonwebtoken::crypto::verify("", b"", &public.decoding_key(), alg.jwt()).is_ok();
        if !ok || !parses() {
            return Err(KeyError(format!(
                "is not {} (an uncompressed point on the curve)",
                wanted(alg)
            )));
        }
        public.kid = public.thumbprint();
        Ok(public)
    }

    /// The public key of a PEM file: a `PUBLIC KEY` (SPKI, as `openssl pkey
    /// -pubout` writes it) or the public half of a PKCS#8 private key.
    pub fn from_pem(text: &str, alg: SigningAlgorithm) -> Result<Self, KeyError> {
        let block = one_block(text)?;
        match block.label.as_str() {
            "PRIVATE KEY" => Ok(PrivateKey::from_pkcs8(&block.der, alg)?.public),
            "PUBLIC KEY" => {
                let (found, key) = der::public_key_info(&block.der)
                    .ok_or_else(|| KeyError::new("is not a valid SubjectPublicKeyInfo"))?;
                check_type(found, alg)?;
                Self::from_raw(alg, key)
            }
            label => Err(wrong_label(label)),
        }
    }

    /// The same key under another `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self
    }

    /// Its `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm it verifies.
    pub fn alg(&self) -> SigningAlgorithm {
        self.alg
    }

    /// True when `other` is the same key material (whatever its `kid`).
    pub fn same_key(&self, other: &PublicKey) -> bool {
        self.alg == other.alg && self.key == other.key
    }

    /// The RFC 7638 JWK thumbprint: SHA-256 of the required members in
    /// lexicographic order, base64url.
    pub fn thumbprint(&self) -> String {
        let canonical = match self.alg {
            SigningAlgorithm::ES256 => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                b64::url_encode(&self.key[1..33]),
                b64::url_encode(&self.key[33..])
            ),
            _ => format!(
                r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                b64::url_encode(&self.key)
            ),
        };
        b64::url_encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
    }

    /// The JWK, public members only, with `kid`, `alg` and `use: sig`.
    pub fn jwk(&self) -> Value {
        match self.alg {
            SigningAlgorithm::ES256 => json!({
                "kty": "EC", "crv": "P-256",
                "x": b64::url_encode(&self.key[1..33]), "y": b64::url_encode(&self.key[33..]),
                "kid": self.kid, "alg": "ES256", "use": "sig",
            }),
            _ => json!({
                "kty": "OKP", "crv": "Ed25519", "x": b64::url_encode(&self.key),
                "kid": self.kid, "alg": "EdDSA", "use": "sig",
            }),
        }
    }

    /// The key in `jsonwebtoken`'s terms, for verifying.
    pub fn decoding_key(&self) -> DecodingKey {
        match self.alg {
            SigningAlgorithm::ES256 => DecodingKey::from_ec_der(&self.key),
            _ => DecodingKey::from_ed_der(&self.key),
        }
    }
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// An ES256 or EdDSA signing key. `Debug` shows its `kid`, never the key.
pub struct PrivateKey {
    pair: Pair,
    public: PublicKey,
    rng: SystemRandom,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PrivateKey({}, kid {}, [redacted])",
            self.public.alg, self.public.kid
        )
    }
}

impl PrivateKey {
    /// The key of a PKCS#8 PEM file (`BEGIN PRIVATE KEY`).
    pub fn from_pem(text: &str, alg: SigningAlgorithm) -> Result<Self, KeyError> {
        let block = one_block(text)?;
        match block.label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8(&block.der, alg),
            label => Err(wrong_label(label)),
        }
    }

    /// The key of a PKCS#8 v1 or v2 document.
    pub fn from_pkcs8(der: &[u8], alg: SigningAlgorithm) -> Result<Self, KeyError> {
        let found = der::private_key_type(der)
            .ok_or_else(|| KeyError::new("is not a valid PKCS#8 private key"))?;
        check_type(found, alg)?;
        let rng = SystemRandom::new();
        let rejected = |e: ring::error::KeyRejected| {
            KeyError(format!("is not a usable {} ({e})", wanted(alg)))
        };
        let pair = match alg {
            SigningAlgorithm::ES256 => Pair::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
                    .map_err(rejected)?,
            ),
            // OpenSSL writes v1 documents, without the public key.
            _ => Pair::Ed25519(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?),
        };
        let public = PublicKey::from_raw(
            alg,
            match &pair {
                Pair::Ecdsa(pair) => pair.public_key().as_ref(),
                Pair::Ed25519(pair) => pair.public_key().as_ref(),
            },
        )?;
        Ok(Self { pair, public, rng })
    }

    /// A new key for `alg` as a PKCS#8 PEM (`BEGIN PRIVATE KEY`), in the
    /// form `openssl genpkey` writes.
    pub fn generate(alg: SigningAlgorithm) -> Result<String, KeyError> {
        let rng = SystemRandom::new();
        let failed = |_| KeyError::new("the system's random number generator failed");
        let der = match alg {
            SigningAlgorithm::ES256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(failed)?
                    .as_ref()
                    .to_vec()
            }
            SigningAlgorithm::EdDSA => {
                let mut seed = [0u8; 32];
                rng.fill(&mut seed).map_err(failed)?;
                der::ed25519_pkcs8(&seed)
            }
            SigningAlgorithm::HS256 => {
                return Err(KeyError::new(
                    "HS256 uses a shared secret, not a key pair: `openssl rand -base64 48`",
                ))
            }
        };
        // Checked as the service will read it.
        Self::from_pkcs8(&der, alg)?;
        Ok(der::to_pem("PRIVATE KEY", &der))
    }

    /// The same key with its public half under another `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.public = self.public.with_kid(kid);
        self
    }

    /// Its public half, with the `kid` tokens carry.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The JWS signature of `message` (ES256: `r || s`, 64 bytes).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.pair {
            Pair::Ecdsa(pair) => pair
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::new("ECDSA signing failed")),
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_thumbprint_matches_rfc_8037() {
        // RFC 8037, appendix A.2 and A.3.
        let x = b64::url_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        let key = PublicKey::from_raw(SigningAlgorithm::EdDSA, &x).unwrap();
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn generated_keys_sign_and_their_debug_hides_them() {
        for alg in [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA] {
            let pem = PrivateKey::generate(alg).unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            let key = PrivateKey::from_pem(&pem, alg).unwrap();
            assert_eq!(key.public().kid(), key.public().thumbprint());
            let signature = key.sign(b"message").unwrap();
            assert_eq!(signature.len(), 64);
            let shown = format!("{key:?}");
            assert!(shown.contains("redacted") && !shown.contains(&pem[28..60]));
            // The public half of the private PEM is the same key.
            let public = PublicKey::from_pem(&pem, alg).unwrap();
            assert_eq!(&public, key.public());
            assert!(PrivateKey::generate(SigningAlgorithm::HS256).is_err());
        }
    }

    #[test]
    fn a_key_of_the_other_algorithm_names_the_fix() {
        let pem = PrivateKey::generate(SigningAlgorithm::EdDSA).unwrap();
        let e = PrivateKey::from_pem(&pem, SigningAlgorithm::ES256).unwrap_err();
        assert_eq!(
            e.0,
            "holds an Ed25519 key, but ES256 needs a P-256 EC key: set JWT_ALGORITHM=EdDSA to sign \
             with it, or make a P-256 EC key with `realtime-token keygen --alg ES256`"
        );
        let e = PrivateKey::from_pem("nothing", SigningAlgorithm::ES256).unwrap_err();
        assert!(e.0.starts_with("is not a PEM file"), "{e}");
        let two = format!("{pem}{pem}");
        let e = PrivateKey::from_pem(&two, SigningAlgorithm::EdDSA).unwrap_err();
        assert!(e.0.contains("2 PEM blocks"), "{e}");
    }
}

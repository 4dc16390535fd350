//! The signature check of a `jwt-cookie` token, with `ring` (in the tree
//! already as rustls's one crypto provider). `jsonwebtoken`'s `rust_crypto`
//! backend (the `rsa` crate) spends about 130 µs on an RS256 check, `ring`
//! about 17 µs. Keys still come from `jsonwebtoken`'s PEM and JWK parsing;
//! here they are turned once into what `ring` verifies with.

use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use ring::signature::{self as sig, VerificationAlgorithm};

/// Fewest RSA modulus bits accepted: RFC 7518 §3.3 requires 2048, and so
/// does `ring`.
const MIN_RSA_BITS: usize = 2048;

/// A public key in the form `ring` verifies with.
#[derive(Clone)]
pub enum PublicKey {
    /// RSA modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed EC point (`04 || x || y`), P-256 or P-384.
    Ec(Vec<u8>),
    /// An Ed25519 public key.
    Ed(Vec<u8>),
}

impl PublicKey {
    /// From a key `jsonwebtoken` parsed (PEM or JWK); `Err` says why `ring`
    /// could never verify with it.
    pub fn from_decoding_key(key: &DecodingKey) -> Result<Self, &'static str> {
        match (key.family(), key.kind()) {
            (AlgorithmFamily::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => {
                Self::rsa(n.clone(), e.clone())
            }
            (AlgorithmFamily::Rsa, DecodingKeyKind::SecretOrDer(der)) => {
                let (n, e) = (DEFAULT_PROVIDER
                    .key_utils
                    .rsa_pub_components_from_public_key)(der)
                .map_err(|_| "not an RSA public key")?;
                Self::rsa(n, e)
            }
            (AlgorithmFamily::Ec, DecodingKeyKind::SecretOrDer(point)) => {
                match (point.first(), point.len()) {
                    (Some(4), 65 | 97) => Ok(Self::Ec(point.clone())),
                    _ => Err("only uncompressed P-256 and P-384 EC keys are supported"),
                }
            }
            (AlgorithmFamily::Ed, DecodingKeyKind::SecretOrDer(bytes)) if bytes.len() == 32 => {
                Ok(Self::Ed(bytes.clone()))
            }
            _ => Err("not an RSA, EC or Ed25519 public key"),
        }
    }

    fn rsa(n: Vec<u8>, e: Vec<u8>) -> Result<Self, &'static str> {
        let n = n.into_iter().skip_while(|b| *b == 0).collect::<Vec<_>>();
        let bits = n
            .first()
            .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
        if bits < MIN_RSA_BITS {
            return Err("RSA keys must have at least 2048 bits");
        }
        Ok(Self::Rsa { n, e })
    }

    /// The algorithm family the key belongs to.
    pub fn family(&self) -> AlgorithmFamily {
        match self {
            Self::Rsa { .. } => AlgorithmFamily::Rsa,
            Self::Ec(_) => AlgorithmFamily::Ec,
            Self::Ed(_) => AlgorithmFamily::Ed,
        }
    }

    /// Whether `signature` is `alg`'s signature of `message` with this key.
    pub fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        let rsa: &sig::RsaParameters = match alg {
            Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
            Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
            Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
            Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
            _ => return self.verify_other(alg, message, signature),
        };
        match self {
            Self::Rsa { n, e } => sig::RsaPublicKeyComponents { n, e }
                .verify(rsa, message, signature)
                .is_ok(),
            _ => false,
        }
    }

    fn verify_other(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        let (algorithm, key): (&dyn VerificationAlgorithm, &[u8]) = match (alg, self) {
            (Algorithm::ES256, Self::Ec(point)) => (&sig::ECDSA_P256_SHA256_FIXED, point),
            (Algorithm::ES384, Self::Ec(point)) => (&sig::ECDSA_P384_SHA384_FIXED, point),
            (Algorithm::EdDSA, Self::Ed(key)) => (&sig::ED25519, key),
            _ => return false,
        };
        sig::UnparsedPublicKey::new(algorithm, key)
            .verify(message, signature)
            .is_ok()
    }
}

/// An HMAC secret (HS256/384/512 only). No `Debug`: it is a secret.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// The secret's bytes, as `SESSION_JWT_KEY` gives them.
    pub fn new(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// Whether `signature` is `alg`'s HMAC of `message` (constant time).
    pub fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        let hmac = match alg {
            Algorithm::HS256 => ring::hmac::HMAC_SHA256,
            Algorithm::HS384 => ring::hmac::HMAC_SHA384,
            Algorithm::HS512 => ring::hmac::HMAC_SHA512,
            _ => return false,
        };
        ring::hmac::verify(&ring::hmac::Key::new(hmac, &self.0), message, signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_keys_under_2048_bits_and_compressed_ec_points_are_refused() {
        let e = [1, 0, 1];
        let rsa =
            |n: &[u8]| PublicKey::from_decoding_key(&DecodingKey::from_rsa_raw_components(n, &e));
        assert!(rsa(&[0xff; 256]).is_ok());
        // Leading zero bytes do not count; 2047 bits is one too few.
        let mut short = vec![0, 0x7f];
        short.extend([0xff; 255]);
        assert!(rsa(&short).is_err());
        assert!(rsa(&[0xff; 128]).is_err());
        let compressed = DecodingKey::from_ec_der(&[2; 33]);
        assert!(PublicKey::from_decoding_key(&compressed).is_err());
        let secret = DecodingKey::from_secret(&[7; 32]);
        assert!(PublicKey::from_decoding_key(&secret).is_err());
    }
}

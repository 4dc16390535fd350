//! The signature check of a `jwt-cookie` token, with `ring` (in the tree
//! already as rustls's one crypto provider). `jsonwebtoken`'s `rust_crypto`
//! backend (the `rsa` crate) spends about 130 µs on an RS256 check, `ring`
//! about 17 µs. PEM keys still come from `jsonwebtoken`'s parsing, JWKs
//! from `jwk.rs`; here they are turned once into what `ring` verifies with,
//! and checked once: an RSA modulus long enough, odd, with a usable exponent
//! and without the ROCA structure (`roca.rs`); an EC point on the curve it
//! names.

use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use ring::signature::{self as sig, VerificationAlgorithm};

use super::roca;

/// Fewest RSA modulus bits accepted: RFC 7518 §3.3 requires 2048, and so
/// does `ring`.
const MIN_RSA_BITS: usize = 2048;

/// The EC curves verified here: one per `alg` (ES256, ES384).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// P-256, for ES256.
    P256,
    /// P-384, for ES384.
    P384,
}

impl Curve {
    /// The curve a JWK's `crv` names, if verified here.
    pub fn from_name(crv: &str) -> Option<Self> {
        match crv {
            "P-256" => Some(Self::P256),
            "P-384" => Some(Self::P384),
            _ => None,
        }
    }

    /// The length of one coordinate, in bytes.
    pub fn coordinate_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
        }
    }
}

/// A public key in the form `ring` verifies with.
#[derive(Clone)]
pub enum PublicKey {
    /// RSA modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed point (`04 || x || y`) on `curve`.
    Ec { curve: Curve, point: Vec<u8> },
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
            // A PEM's point: its length tells the curve (a JWK names it).
            (AlgorithmFamily::Ec, DecodingKeyKind::SecretOrDer(point)) => {
                let curve = match (point.first(), point.len()) {
                    (Some(4), 65) => Curve::P256,
                    (Some(4), 97) => Curve::P384,
                    _ => return Err("only uncompressed P-256 and P-384 EC keys are supported"),
                };
                Self::ec(curve, point.clone())
            }
            (AlgorithmFamily::Ed, DecodingKeyKind::SecretOrDer(bytes)) if bytes.len() == 32 => {
                Ok(Self::Ed(bytes.clone()))
            }
            _ => Err("not an RSA, EC or Ed25519 public key"),
        }
    }

    /// An RSA key from its big-endian modulus and exponent; `Err` when it
    /// is too short, cannot be a modulus, has an exponent `ring` refuses
    /// (even, under 3 or over 33 bits), or has the ROCA structure.
    pub fn rsa(n: Vec<u8>, e: Vec<u8>) -> Result<Self, &'static str> {
        let n = n.into_iter().skip_while(|b| *b == 0).collect::<Vec<_>>();
        let e = e.into_iter().skip_while(|b| *b == 0).collect::<Vec<_>>();
        if bits(&n) < MIN_RSA_BITS {
            return Err("RSA keys must have at least 2048 bits");
        }
        if roca::has_small_factor(&n) {
            return Err("the RSA modulus has a small factor");
        }
        if bits(&e) > 33 || e.last().is_none_or(|b| b % 2 == 0) || e.as_slice() == [1] {
            return Err("the RSA exponent must be odd, at least 3 and at most 33 bits");
        }
        if roca::fingerprinted(&n) {
            return Err("the RSA key has the ROCA weakness (CVE-2017-15361): it can be factored");
        }
        Ok(Self::Rsa { n, e })
    }

    /// A point on `curve` (`04 || x || y`); `Err` when it is not on it.
    pub fn ec(curve: Curve, point: Vec<u8>) -> Result<Self, &'static str> {
        let on_curve = match curve {
            Curve::P256 => p256::PublicKey::from_sec1_bytes(&point).is_ok(),
            Curve::P384 => p384::PublicKey::from_sec1_bytes(&point).is_ok(),
        };
        if point.len() != 1 + 2 * curve.coordinate_len() || !on_curve {
            return Err("the EC point is not on its curve");
        }
        Ok(Self::Ec { curve, point })
    }

    /// The algorithm family the key belongs to.
    pub fn family(&self) -> AlgorithmFamily {
        match self {
            Self::Rsa { .. } => AlgorithmFamily::Rsa,
            Self::Ec { .. } => AlgorithmFamily::Ec,
            Self::Ed(_) => AlgorithmFamily::Ed,
        }
    }

    /// Whether `alg` is verified with a key like this one: RS*/PS* with
    /// RSA, ES256 with P-256, ES384 with P-384, EdDSA with Ed25519.
    pub fn fits(&self, alg: Algorithm) -> bool {
        match (self, alg) {
            (Self::Ec { curve, .. }, Algorithm::ES256) => *curve == Curve::P256,
            (Self::Ec { curve, .. }, Algorithm::ES384) => *curve == Curve::P384,
            (Self::Ec { .. }, _) => false,
            _ => self.family() == alg.family(),
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
            (Algorithm::ES256, Self::Ec { curve, point }) if *curve == Curve::P256 => {
                (&sig::ECDSA_P256_SHA256_FIXED, point)
            }
            (Algorithm::ES384, Self::Ec { curve, point }) if *curve == Curve::P384 => {
                (&sig::ECDSA_P384_SHA384_FIXED, point)
            }
            (Algorithm::EdDSA, Self::Ed(key)) => (&sig::ED25519, key),
            _ => return false,
        };
        sig::UnparsedPublicKey::new(algorithm, key)
            .verify(message, signature)
            .is_ok()
    }
}

/// The length of a big-endian number in bits.
fn bits(n: &[u8]) -> usize {
    let n = &n[n.iter().take_while(|b| **b == 0).count()..];
    n.first()
        .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize)
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
    use super::roca::hex;
    use super::*;

    /// The first 2048-bit modulus `openssl genrsa` made for `roca.rs`.
    fn openssl_modulus() -> Vec<u8> {
        let text = include_str!("testdata/openssl_rsa_moduli.txt");
        hex(text.lines().find(|l| !l.starts_with('#')).unwrap())
    }

    #[test]
    fn weak_rsa_keys_and_ec_points_off_their_curve_are_refused() {
        let n = openssl_modulus();
        let e = [1, 0, 1];
        let rsa = |n: &[u8], e: &[u8]| {
            PublicKey::from_decoding_key(&DecodingKey::from_rsa_raw_components(n, e)).err()
        };
        assert_eq!(rsa(&n, &e), None);
        // Leading zero bytes do not count; 2047 bits is one too few.
        let mut padded = vec![0, 0];
        padded.extend(&n);
        assert_eq!(rsa(&padded, &e), None);
        let mut short = vec![0, 0x7f];
        short.extend([0xff; 255]);
        let too_short = Some("RSA keys must have at least 2048 bits");
        assert_eq!(rsa(&short, &e), too_short);
        assert_eq!(rsa(&[0xff; 128], &e), too_short);
        // 2^2048 - 1 is a multiple of 3.
        assert_eq!(
            rsa(&[0xff; 256], &e),
            Some("the RSA modulus has a small factor")
        );
        let bad_exponent = Some("the RSA exponent must be odd, at least 3 and at most 33 bits");
        for e in [&[1][..], &[0, 1], &[2], &[1, 0, 0], &[], &[3, 0, 0, 0, 1]] {
            assert_eq!(rsa(&n, e), bad_exponent, "e = {e:?}");
        }
        for e in [&[3][..], &[1, 0, 0, 0, 1]] {
            assert_eq!(rsa(&n, e), None, "e = {e:?}");
        }

        let compressed = DecodingKey::from_ec_der(&[2; 33]);
        assert!(PublicKey::from_decoding_key(&compressed).is_err());
        // The P-256 generator is on P-256; moved by one in y, it is not.
        let mut g = vec![4];
        g.extend(hex(
            "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
        ));
        g.extend(hex(
            "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
        ));
        assert!(PublicKey::ec(Curve::P256, g.clone()).is_ok());
        assert!(PublicKey::ec(Curve::P384, g.clone()).is_err());
        *g.last_mut().unwrap() ^= 1;
        assert!(PublicKey::ec(Curve::P256, g).is_err());
        let secret = DecodingKey::from_secret(&[7; 32]);
        assert!(PublicKey::from_decoding_key(&secret).is_err());
    }

    #[test]
    fn an_ec_key_fits_only_the_algorithm_of_its_curve() {
        let p256 = PublicKey::Ec {
            curve: Curve::P256,
            point: vec![],
        };
        assert!(p256.fits(Algorithm::ES256));
        assert!(!p256.fits(Algorithm::ES384));
        assert!(!p256.fits(Algorithm::RS256));
        let p384 = PublicKey::Ec {
            curve: Curve::P384,
            point: vec![],
        };
        assert!(p384.fits(Algorithm::ES384) && !p384.fits(Algorithm::ES256));
        let rsa = PublicKey::Rsa {
            n: vec![],
            e: vec![],
        };
        assert!(rsa.fits(Algorithm::PS512) && !rsa.fits(Algorithm::ES256));
        assert!(PublicKey::Ed(vec![]).fits(Algorithm::EdDSA));
    }
}

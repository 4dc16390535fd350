//! The few PEM and DER shapes a signing key comes in: PEM blocks, a PKCS#8
//! `PrivateKeyInfo` and a `SubjectPublicKeyInfo`, read only far enough to
//! name the key's type (`ring` checks the key itself).

use std::fmt;

use crate::b64;

/// One PEM block: its label (`PRIVATE KEY`) and its decoded contents.
pub struct PemBlock {
    /// The label between `BEGIN ` and the dashes.
    pub label: String,
    /// The base64 body, decoded.
    pub der: Vec<u8>,
}

/// Every PEM block in `text` (text outside blocks is ignored, as OpenSSL
/// does); `Err` when a block has no END line or is not base64.
pub fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, &'static str> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        for line in lines.by_ref() {
            if line == end {
                closed = true;
                break;
            }
            // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) of legacy keys.
            if !line.contains(':') {
                body.push_str(line);
            }
        }
        if !closed {
            return Err("a PEM block has no END line");
        }
        let der = b64::standard_decode(body).map_err(|_| "a PEM block is not base64")?;
        blocks.push(PemBlock {
            label: label.to_owned(),
            der,
        });
    }
    Ok(blocks)
}

/// `der` as a PEM block labelled `label`, 64 characters a line.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    let body = b64::standard_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// What kind of key an algorithm identifier names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// An EC key on P-256 (prime256v1): ES256.
    P256,
    /// An EC key on another curve (its name).
    OtherCurve(&'static str),
    /// An Ed25519 key: EdDSA.
    Ed25519,
    /// An Ed448 key.
    Ed448,
    /// An X25519 or X448 key (key agreement, cannot sign).
    Agreement(&'static str),
    /// An RSA key (PKCS#1 or PSS).
    Rsa,
    /// A DSA key.
    Dsa,
    /// Anything else.
    Unknown,
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::P256 => f.write_str("a P-256 EC key"),
            Self::OtherCurve(curve) => write!(f, "an EC key on {curve}"),
            Self::Ed25519 => f.write_str("an Ed25519 key"),
            Self::Ed448 => f.write_str("an Ed448 key"),
            Self::Agreement(name) => write!(f, "an {name} key (key agreement only)"),
            Self::Rsa => f.write_str("an RSA key"),
            Self::Dsa => f.write_str("a DSA key"),
            Self::Unknown => f.write_str("a key of an unknown type"),
        }
    }
}

const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const CURVES: &[(&[u8], &str)] = &[
    (&[0x2b, 0x81, 0x04, 0x00, 0x22], "P-384"),
    (&[0x2b, 0x81, 0x04, 0x00, 0x23], "P-521"),
    (&[0x2b, 0x81, 0x04, 0x00, 0x0a], "secp256k1"),
];
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const ED448: &[u8] = &[0x2b, 0x65, 0x71];
const X25519: &[u8] = &[0x2b, 0x65, 0x6e];
const X448: &[u8] = &[0x2b, 0x65, 0x6f];
const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];

/// The DER of a PKCS#8 v1 Ed25519 key with this seed, byte for byte what
/// `openssl genpkey -algorithm ed25519` writes.
pub fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

/// The type of key a PKCS#8 `PrivateKeyInfo` holds; `None` when `der` is
/// not one.
pub fn private_key_type(der: &[u8]) -> Option<KeyType> {
    let (info, _) = expect(der, 0x30)?;
    let (_version, rest) = expect(info, 0x02)?;
    let (algorithm, _) = expect(rest, 0x30)?;
    key_type(algorithm)
}

/// The type and the public key (the BIT STRING's bytes) of a
/// `SubjectPublicKeyInfo`; `None` when `der` is not one.
pub fn public_key_info(der: &[u8]) -> Option<(KeyType, &[u8])> {
    let (info, _) = expect(der, 0x30)?;
    let (algorithm, rest) = expect(info, 0x30)?;
    let (bits, _) = expect(rest, 0x03)?;
    // The first byte counts unused bits: none in a key.
    let (0, key) = bits.split_first()? else {
        return None;
    };
    Some((key_type(algorithm)?, key))
}

/// The key type an `AlgorithmIdentifier`'s contents name.
fn key_type(algorithm: &[u8]) -> Option<KeyType> {
    let (oid, params) = expect(algorithm, 0x06)?;
    Some(match oid {
        EC_PUBLIC_KEY => match expect(params, 0x06) {
            Some((P256, _)) => KeyType::P256,
            Some((curve, _)) => KeyType::OtherCurve(
                CURVES
                    .iter()
                    .find(|(c, _)| *c == curve)
                    .map_or("a curve other than P-256", |(_, name)| *name),
            ),
            None => KeyType::OtherCurve("explicit curve parameters"),
        },
        ED25519 => KeyType::Ed25519,
        ED448 => KeyType::Ed448,
        X25519 => KeyType::Agreement("X25519"),
        X448 => KeyType::Agreement("X448"),
        RSA | RSA_PSS => KeyType::Rsa,
        DSA => KeyType::Dsa,
        _ => KeyType::Unknown,
    })
}

/// The contents of the element at the start of `input` if its tag is
/// `tag`, and what follows it.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let (len, rest) = (rest.get(..n)?, &rest[n..]);
            (
                len.iter().fold(0, |acc, b| (acc << 8) | usize::from(*b)),
                rest,
            )
        }
        _ => return None,
    };
    (found == tag && rest.len() >= len).then(|| (&rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_and_malformed_blocks() {
        let pem = to_pem("PRIVATE KEY", &[7; 100]);
        assert!(pem.lines().all(|l| l.len() <= 64));
        let blocks = pem_blocks(&format!("preamble\n{pem}")).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].label, "PRIVATE KEY");
        assert_eq!(blocks[0].der, vec![7; 100]);
        let cut = pem.replace("-----END PRIVATE KEY-----\n", "");
        assert!(pem_blocks(&cut).is_err());
        assert!(pem_blocks("-----BEGIN X-----\n!!\n-----END X-----").is_err());
        assert!(pem_blocks("no pem here").unwrap().is_empty());
    }

    #[test]
    fn key_types_from_der() {
        assert_eq!(
            private_key_type(&ed25519_pkcs8(&[1; 32])),
            Some(KeyType::Ed25519)
        );
        // An SPKI of an Ed25519 key: SEQ { SEQ { OID }, BIT STRING }.
        let mut spki = vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
        spki.extend([0x03, 0x21, 0x00]);
        spki.extend([9; 32]);
        let (kind, key) = public_key_info(&spki).unwrap();
        assert_eq!((kind, key), (KeyType::Ed25519, &[9u8; 32][..]));
        assert_eq!(private_key_type(&spki), None);
        assert_eq!(private_key_type(&[0x30, 0x82, 0xff]), None);
        assert_eq!(private_key_type(&[]), None);
    }
}

//! The ROCA fingerprint (CVE-2017-15361), as Nemec et al. publish it in
//! "The Return of Coppersmith's Attack" (ACM CCS 2017, §2.3 and the
//! discrete-logarithm detector of their tool).
//!
//! Infineon's RSALib made primes `p = k·M + (65537^a mod M)`, `M` the
//! product of the first small primes (the first 39 for the shortest keys,
//! more for longer ones, so always a multiple of these). A modulus
//! `N = p·q` is then `65537^(a+b)` modulo `M`: it lies in the subgroup
//! 65537 generates in `Z_M*`. The test: for each odd prime `r` up to 167,
//! `N mod r` must have a discrete logarithm `c_r` to the base 65537 (found
//! by walking the powers: `r` is small), and the logarithms must agree, as
//! one exponent would: `c_r ≡ c_s` modulo `gcd(ord_r, ord_s)` for every
//! pair (which is when the congruences have a common solution). An
//! ordinary modulus passes with probability about 2^-155 (the paper's
//! figure; `lcm(ord_r) / Π(r-1)` for these primes).
//!
//! No maintained crate was found for it (no `roca` crate in the registry,
//! and none in the documentation search); the check is a few lines of
//! small-number arithmetic, written from the paper's description. Its
//! tests agree with the authors' tool (roca-detect 1.2.12) on every
//! modulus in `testdata/`.

/// The odd primes of the smallest `M` (2 adds nothing: `N` is odd).
const PRIMES: [u32; 38] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

/// The generator RSALib raised to a secret power.
const GENERATOR: u32 = 65537;

/// `n` (big-endian) modulo a small `r`.
fn residue(n: &[u8], r: u32) -> u32 {
    n.iter().fold(0, |acc, &b| (acc * 256 + u32::from(b)) % r)
}

/// The discrete logarithm of `x` to the base [`GENERATOR`] modulo `r`, and
/// the generator's order there; `None` when `x` is not a power of it.
fn log(x: u32, r: u32) -> Option<(u32, u32)> {
    let g = GENERATOR % r;
    let (mut power, mut exponent, mut found) = (1, 0, None);
    loop {
        if power == x && found.is_none() {
            found = Some(exponent);
        }
        exponent += 1;
        power = power * g % r;
        if power == 1 {
            return found.map(|c| (c, exponent));
        }
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Whether the RSA modulus `n` (big-endian) has the ROCA structure: made by
/// Infineon's RSALib, and factorable.
pub fn fingerprinted(n: &[u8]) -> bool {
    let mut logs = Vec::with_capacity(PRIMES.len());
    for r in PRIMES {
        match log(residue(n, r), r) {
            Some(found) => logs.push(found),
            None => return false,
        }
    }
    one_exponent(&logs)
}

/// Whether one exponent `c` solves every `c ≡ c_r (mod ord_r)` of `logs`:
/// when each pair agrees modulo the gcd of their orders.
fn one_exponent(logs: &[(u32, u32)]) -> bool {
    logs.iter().enumerate().all(|(i, &(ci, oi))| {
        logs[i + 1..]
            .iter()
            .all(|&(cj, oj)| ci.abs_diff(cj) % gcd(oi, oj) == 0)
    })
}

/// Whether `n` (big-endian) has a factor among the small primes: no RSA
/// modulus does.
pub fn has_small_factor(n: &[u8]) -> bool {
    n.last().is_none_or(|b| b % 2 == 0) || PRIMES.iter().any(|&r| residue(n, r) == 0)
}

/// Hex digits to bytes, for the test vectors here and in `jws_crypto.rs`.
#[cfg(test)]
pub(super) fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn modulus(b64: &str) -> Vec<u8> {
        crate::b64::url_decode(b64).unwrap()
    }

    fn vectors() -> Value {
        serde_json::from_str(include_str!("testdata/wycheproof_jwk.json")).unwrap()
    }

    #[test]
    fn the_wycheproof_roca_key_is_fingerprinted_and_ordinary_keys_are_not() {
        let vectors = vectors();
        let roca = &vectors["vectors"]["7"]["jwks"]["keys"][0];
        assert_eq!(roca["kid"], "kid-rsa-roca-sign");
        assert!(fingerprinted(&modulus(roca["n"].as_str().unwrap())));
        // Moduli with RSALib's structure, made to the paper's recipe.
        let structured = include_str!("testdata/roca_structured_moduli.txt");
        let structured: Vec<&str> = structured.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(structured.len(), 3);
        for n in structured {
            assert!(fingerprinted(&hex(n)), "{n}");
        }
        // Wycheproof's ordinary RSA keys (tcId 5 and 8).
        for tc in ["5", "8"] {
            let n = vectors["vectors"][tc]["jwks"]["keys"][0]["n"]
                .as_str()
                .unwrap();
            assert!(!fingerprinted(&modulus(n)), "tcId {tc}");
        }
        // Keys `openssl genrsa` made (testdata/openssl_rsa_moduli.txt).
        let ordinary = include_str!("testdata/openssl_rsa_moduli.txt");
        let moduli: Vec<&str> = ordinary
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .collect();
        assert!(moduli.len() >= 6);
        for n in moduli {
            let n = hex(n);
            assert!(!fingerprinted(&n), "{n:02x?}");
            assert!(!has_small_factor(&n));
        }
    }

    #[test]
    fn each_residue_must_be_a_power_of_65537_with_one_exponent() {
        // 65537 ≡ 2 (mod 3), order 2; ≡ 2 (mod 5), order 4.
        assert_eq!(log(1, 3), Some((0, 2)));
        assert_eq!(log(2, 5), Some((1, 4)));
        assert_eq!(log(0, 5), None);
        // Modulo 13, 65537 ≡ 4, of order 6 (1, 4, 3, 12, 9, 10): 2 is no
        // power of it.
        assert_eq!(log(3, 13), Some((2, 6)));
        assert_eq!(log(2, 13), None);
        // 65537 itself (exponent 1 everywhere) and its square are
        // fingerprinted; 65537·(one residue moved to another exponent) is not.
        let g = GENERATOR.to_be_bytes();
        assert!(fingerprinted(&g));
        let square = (u64::from(GENERATOR) * u64::from(GENERATOR)).to_be_bytes();
        assert!(fingerprinted(&square));
        // A power of 65537 modulo each prime is not enough: exponent 1
        // modulo 5 (order 4) and 0 modulo 13 (order 6) differ modulo 2.
        assert!(!one_exponent(&[(1, 4), (0, 6)]));
        assert!(one_exponent(&[(3, 4), (1, 6), (0, 1)]));
        // The same on a whole number: 2 modulo 5 and 1 modulo the 37 other
        // primes (by the CRT) is a power of 65537 modulo each, with exponent
        // 1 modulo 5 but 0 modulo 13; roca-detect 1.2.12 does not flag it.
        let mixed = hex("02be3d1867948fe35ae5d980a195fc42ea0ac167b0dd66c37a8d6856");
        assert!(PRIMES.iter().all(|&r| log(residue(&mixed, r), r).is_some()));
        assert!(!fingerprinted(&mixed));
        // 65537·3 has a residue 0: no logarithm.
        assert!(!fingerprinted(&(3 * GENERATOR).to_be_bytes()));
        assert!(has_small_factor(&[0x0f]) && has_small_factor(&[0x10]));
        assert!(!has_small_factor(&[0xad])); // 173 is prime
    }
}

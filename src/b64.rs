//! Base64 as each format writes and reads it: one function per alphabet
//! and padding rule, named for it, so a codec says which one its framework
//! uses instead of building an engine of its own.
//!
//! | functions | alphabet | padding written | padding read | used by |
//! | --- | --- | --- | --- | --- |
//! | [`url_encode`], [`url_decode`] | `-_` | none | refused | JOSE (JWS, JWE, JWK), our tokens, keygrip, Django's signatures |
//! | [`url_decode_any_padding`] | `-_` | (as [`url_encode`]) | optional | Django's and itsdangerous' `b64_decode`, iron, `@supabase/ssr` |
//! | [`standard_encode`], [`standard_decode`] | `+/` | `=` | required | Ruby's `strict_encode64`, Python's `b64encode`, better-call, PEM |
//! | [`standard_encode_no_padding`], [`standard_decode_no_padding`] | `+/` | none | refused | cookie-signature (Express) |
//! | [`standard_decode_any_padding`] | `+/` | (as [`standard_encode`]) | optional | Node's `Buffer.from(s, "base64")` |
//!
//! Every decoder refuses non-canonical trailing bits and characters outside
//! its alphabet.

use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD,
};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

pub use base64::DecodeError;

/// URL-safe, read with or without `=` padding.
const URL_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Standard alphabet, read with or without `=` padding.
const STANDARD_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// base64url without padding (RFC 7515's `BASE64URL`).
#[inline]
pub fn url_encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// base64url without padding; a padded input is refused.
#[inline]
pub fn url_decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, DecodeError> {
    URL_SAFE_NO_PAD.decode(text)
}

/// base64url with or without its `=` padding.
#[inline]
pub fn url_decode_any_padding(text: impl AsRef<[u8]>) -> Result<Vec<u8>, DecodeError> {
    URL_ANY_PADDING.decode(text)
}

/// Standard base64 with `=` padding.
#[inline]
pub fn standard_encode(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// Standard base64; the `=` padding is required.
#[inline]
pub fn standard_decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, DecodeError> {
    STANDARD.decode(text)
}

/// Standard base64 with the `=` padding stripped.
#[inline]
pub fn standard_encode_no_padding(bytes: impl AsRef<[u8]>) -> String {
    STANDARD_NO_PAD.encode(bytes)
}

/// Standard base64 without padding; a padded input is refused.
#[inline]
pub fn standard_decode_no_padding(text: impl AsRef<[u8]>) -> Result<Vec<u8>, DecodeError> {
    STANDARD_NO_PAD.decode(text)
}

/// Standard base64 with or without its `=` padding.
#[inline]
pub fn standard_decode_any_padding(text: impl AsRef<[u8]>) -> Result<Vec<u8>, DecodeError> {
    STANDARD_ANY_PADDING.decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two bytes: three characters and one `=` of padding, and bytes that
    // differ between the alphabets (0xfb 0xff is `+/8` / `-_8`).
    const BYTES: [u8; 2] = [0xfb, 0xff];

    #[test]
    fn url_alphabet_with_and_without_padding() {
        assert_eq!(url_encode(BYTES), "-_8");
        assert_eq!(url_decode("-_8").unwrap(), BYTES);
        assert!(url_decode("-_8=").is_err());
        assert!(url_decode("+/8").is_err());
        assert_eq!(url_decode_any_padding("-_8").unwrap(), BYTES);
        assert_eq!(url_decode_any_padding("-_8=").unwrap(), BYTES);
        assert!(url_decode_any_padding("+/8=").is_err());
    }

    #[test]
    fn standard_alphabet_with_and_without_padding() {
        assert_eq!(standard_encode(BYTES), "+/8=");
        assert_eq!(standard_decode("+/8=").unwrap(), BYTES);
        assert!(standard_decode("+/8").is_err());
        assert!(standard_decode("-_8=").is_err());
        assert_eq!(standard_encode_no_padding(BYTES), "+/8");
        assert_eq!(standard_decode_no_padding("+/8").unwrap(), BYTES);
        assert!(standard_decode_no_padding("+/8=").is_err());
        assert_eq!(standard_decode_any_padding("+/8").unwrap(), BYTES);
        assert_eq!(standard_decode_any_padding("+/8=").unwrap(), BYTES);
        assert!(standard_decode_any_padding("-_8").is_err());
    }

    #[test]
    fn non_canonical_trailing_bits_are_refused() {
        // `-_9` ends in bits a canonical encoder leaves zero.
        assert!(url_decode("-_9").is_err());
        assert!(url_decode_any_padding("-_9").is_err());
        assert!(standard_decode("+/9=").is_err());
        assert!(standard_decode_any_padding("+/9").is_err());
    }
}

//! zlib streams inside signed payloads (Django's `signing.dumps(...,
//! compress=True)`, itsdangerous' `URLSafeSerializer`): one inflater with
//! one size limit for every format.

/// The largest document inflated. Django's database engine keeps sessions
/// of any size, so this is well past what a cookie holds (about 4 KiB);
/// both formats check the signature before inflating, so only the app's
/// own secret can make a payload this large.
pub const MAX_INFLATED: usize = 1 << 20;

/// Why a payload did not inflate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// Not one complete zlib stream (bad header, data or checksum, or cut short).
    Corrupt,
    /// It inflates past [`MAX_INFLATED`].
    TooLarge,
}

impl InflateError {
    /// A short reason for the refusal.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Corrupt => "session payload does not inflate",
            Self::TooLarge => "session payload is too large",
        }
    }
}

/// The bytes `compressed` inflates to, at most [`MAX_INFLATED`] of them:
/// the output buffer never grows past that, however small the input.
pub fn inflate(compressed: &[u8]) -> Result<Vec<u8>, InflateError> {
    use miniz_oxide::inflate::{decompress_to_vec_zlib_with_limit, TINFLStatus};
    decompress_to_vec_zlib_with_limit(compressed, MAX_INFLATED).map_err(|e| match e.status {
        TINFLStatus::HasMoreOutput => InflateError::TooLarge,
        _ => InflateError::Corrupt,
    })
}

/// `zlib.compress(bytes)` at Python's default level (6), for tests and
/// fuzzing; the service never compresses.
pub fn deflate(bytes: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(bytes, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflates_up_to_the_limit_exactly() {
        let at_limit = vec![b'x'; MAX_INFLATED];
        assert_eq!(inflate(&deflate(&at_limit)).unwrap(), at_limit);
        let past = vec![b'x'; MAX_INFLATED + 1];
        assert_eq!(inflate(&deflate(&past)), Err(InflateError::TooLarge));
        // A bomb: 64 MiB of zeros in about 64 KiB.
        let bomb = deflate(&vec![0; 64 << 20]);
        assert!(bomb.len() < 128 << 10);
        assert_eq!(inflate(&bomb), Err(InflateError::TooLarge));
    }

    #[test]
    fn refuses_what_is_not_one_whole_stream() {
        let packed = deflate(br#"{"_user_id":"1"}"#);
        assert_eq!(inflate(&packed).unwrap(), br#"{"_user_id":"1"}"#);
        let cut = &packed[..packed.len() - 1];
        let mut bad_checksum = packed.clone();
        *bad_checksum.last_mut().unwrap() ^= 1;
        for bad in [&b""[..], b"garbage", &packed[2..], cut, &bad_checksum] {
            assert_eq!(inflate(bad), Err(InflateError::Corrupt), "{bad:?}");
        }
    }
}

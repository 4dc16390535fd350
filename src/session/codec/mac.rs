//! Signatures made with any of the configured secrets: the current one and
//! those it replaced, tried newest first. One helper for every format
//! whose cookie carries an HMAC.

use std::sync::Arc;

use hmac::digest::{KeyInit, Output};
use hmac::Mac;

/// MAC states keyed once per secret, newest first; each check clones one,
/// which skips re-keying. `Debug` is left to the codec (it shows no key).
pub struct MacKeys<M>(Arc<[M]>);

impl<M> Clone for MacKeys<M> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<M: Mac + KeyInit + Clone> MacKeys<M> {
    /// One state per key (the raw key bytes, already derived as the format
    /// derives them), in the order given.
    pub fn new<K: AsRef<[u8]>>(keys: impl IntoIterator<Item = K>) -> Self {
        Self(
            keys.into_iter()
                .map(|key| {
                    <M as Mac>::new_from_slice(key.as_ref()).expect("HMAC takes any key length")
                })
                .collect(),
        )
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Which key (its index, newest first) made `signature` over the
    /// concatenation of `message`'s parts; each comparison takes constant
    /// time (`Mac::verify_slice`).
    pub fn verify(&self, message: &[&[u8]], signature: &[u8]) -> Option<usize> {
        self.find(message, |mac| mac.verify_slice(signature).is_ok())
    }

    /// Which key (its index, newest first) `accepts` the MAC state of,
    /// after the state has read `message`'s parts: for a format that
    /// compares something other than the raw tag (Django's hex digest),
    /// which must compare in constant time itself.
    pub fn find(&self, message: &[&[u8]], mut accepts: impl FnMut(M) -> bool) -> Option<usize> {
        self.0.iter().position(|key| {
            let mut mac = key.clone();
            for part in message {
                mac.update(part);
            }
            accepts(mac)
        })
    }

    /// The MAC of `message`'s parts under the newest key, for signing in
    /// tests, fuzzing and dev mode.
    ///
    /// # Panics
    /// Without any key.
    pub fn sign(&self, message: &[&[u8]]) -> Output<M> {
        let mut mac = self.0.first().expect("at least one secret").clone();
        for part in message {
            mac.update(part);
        }
        mac.finalize().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use hmac::Hmac;
    use sha2::Sha256;

    use super::*;

    type Keys = MacKeys<Hmac<Sha256>>;

    #[test]
    fn names_the_first_key_that_signed_in_the_order_given() {
        let old = Keys::new(["old"]);
        let sig = old.sign(&[b"user", b"=", b"7"]);
        let keys = Keys::new(["new", "old", "older", "old"]);
        assert_eq!(keys.len(), 4);
        assert_eq!(keys.verify(&[b"user=7"], &sig), Some(1));
        assert_eq!(keys.verify(&[b"user=", b"7"], &sig), Some(1));
        assert_eq!(
            Keys::new(["old", "new"]).verify(&[b"user=7"], &sig),
            Some(0)
        );
        assert_eq!(keys.sign(&[b"x"]), Keys::new(["new"]).sign(&[b"x"]));
    }

    #[test]
    fn refuses_a_wrong_key_message_or_tag() {
        let sig = Keys::new(["old"]).sign(&[b"user=7"]);
        let keys = Keys::new(["new", "other"]);
        assert_eq!(keys.verify(&[b"user=7"], &sig), None);
        let both = Keys::new(["new", "old"]);
        assert_eq!(both.verify(&[b"user=8"], &sig), None);
        assert_eq!(both.verify(&[b"user=7"], &sig[..31]), None);
        assert_eq!(both.verify(&[b"user=7"], &[]), None);
        assert_eq!(Keys::new::<&str>([]).verify(&[b"user=7"], &sig), None);
        assert_eq!(Keys::new::<&str>([]).len(), 0);
    }

    #[test]
    fn find_hands_each_state_over_in_order() {
        let keys = Keys::new(["a", "b", "c"]);
        let target = Keys::new(["c"]).sign(&[b"m"]);
        let mut seen = 0;
        let found = keys.find(&[b"m"], |mac| {
            seen += 1;
            mac.finalize().into_bytes() == target
        });
        assert_eq!((found, seen), (Some(2), 3));
    }
}

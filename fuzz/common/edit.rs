//! The edits the signed-cookie targets make to a genuine cookie: up to four
//! bytes overwritten, then an optional cut. Shared by path (`#[path]`), as
//! each target is its own binary.

/// `bytes` with up to four of `tamper`'s (position, byte) edits, then cut
/// to `truncate` bytes when given.
pub fn edit(mut bytes: Vec<u8>, tamper: Vec<(u16, u8)>, truncate: Option<u16>) -> Vec<u8> {
    for (at, byte) in tamper.into_iter().take(4) {
        if !bytes.is_empty() {
            let at = usize::from(at) % bytes.len();
            bytes[at] = byte;
        }
    }
    if let Some(len) = truncate {
        bytes.truncate(usize::from(len));
    }
    bytes
}

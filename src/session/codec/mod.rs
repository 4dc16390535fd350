//! Cookie codecs: how a cookie's value becomes a session id or claims.
//! One file per format.

pub mod express_signed;
pub mod session_id;

pub use express_signed::{CookieSigner, UnsignError};
pub use session_id::SessionIdCookie;

//! HTTP middleware, one file each: the client address, the origin guard and
//! CORS, the access log, and the panic guard. Each takes only the data it
//! needs (registered as its own `web::Data`), never the whole app state.

pub mod access_log;
pub mod catch_panic;
pub mod client_addr;
pub mod origin;

//! Session formats read natively, each tested against cookies its real
//! library writes (`support::writers`).

pub mod authjs;
mod better_auth;
mod cookie_session;
mod devise;
mod django;
mod flask;
mod iron_session;
mod jwt_cookie;
mod jwt_cookie_cache;
mod next_auth;
mod rails;
mod supabase;

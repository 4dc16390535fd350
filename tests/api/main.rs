//! Black-box tests: the real server on 127.0.0.1:0, a real HTTP client.

mod support;

mod abandoned_lookups;
mod access_log_fields;
mod admin;
mod architecture;
mod browser;
mod cli;
mod client_address;
mod config;
mod cors;
mod deploy;
mod draining;
mod express_compat;
mod faults;
mod formats;
mod fuzz_regressions;
mod hardening;
mod hostile;
mod http_errors;
mod interop;
mod log_secrets;
mod openapi;
mod operations;
mod policy;
mod postgres_tls;
mod redis_tls;
mod rolling_restart;
mod rotation;
mod sessions_postgres;
mod sessions_redis;
mod sessions_upstream;
mod shared_limits;
mod signed_cookie;
mod token_endpoint;
mod verify_rules;

//! realtime-token: turns a logged-in browser session into a short-lived HS256
//! JWT for a Realtime SDK WebSocket server.
//!
//! The binary (`realtime-token`) is a thin shell over this library, so a Rust
//! team can embed the server with its own [`session::SessionAuthenticator`],
//! and a Rust realtime server can verify tokens with [`token::TokenVerifier`]
//! and match rooms with [`policy::room_matches`].

pub mod address;
pub mod admin;
pub mod app;
pub mod b64;
pub mod cli;
pub mod config;
pub mod drain;
pub mod env_var;
pub mod error;
pub mod http;
pub mod metrics;
pub mod policy;
pub mod principal;
pub mod ratelimit;
pub mod redis_conn;
pub mod rooms;
pub mod routes;
pub mod secret;
pub mod session;
pub mod state;
pub mod telemetry;
pub mod token;

pub use app::Application;
pub use config::Config;
pub use policy::room_matches;
pub use session::{Principal, SessionAuthenticator, SessionError};
pub use token::{Claims, TokenIssuer, TokenVerifier};

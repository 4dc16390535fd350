//! Plugging in your own session check from Rust.
//!
//! Run: `JWT_SECRET=... SESSION_SECRET=$(openssl rand -base64 48) REALTIME_ROOMS='document-*,team-{team}-*' \
//!       cargo run --example custom_authenticator`
//! then: `curl -X POST localhost:8080/api/realtime-token -H 'Cookie: sid=abc123'`
//!
//! The authenticator below looks sessions up in an in-memory map; a real one
//! would ask your database or session store (with a timeout) and answer
//! `Unavailable` when it cannot, so the service fails closed with a 503.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use actix_web::HttpRequest;
use realtime_token::session::cookies::find_cookie;
use realtime_token::session::{AuthFuture, Principal, Reason, SessionAuthenticator, SessionError};
use realtime_token::{Application, Config};
use serde_json::{json, Map, Value};

/// Sessions keyed by the `sid` cookie.
struct MapAuthenticator {
    sessions: HashMap<String, (String, Map<String, Value>)>,
}

impl SessionAuthenticator for MapAuthenticator {
    fn authenticate<'a>(&'a self, req: &'a HttpRequest) -> AuthFuture<'a> {
        Box::pin(async move {
            // The service's cookie reader (first well-formed cookie of the
            // name wins, a malformed pair hides nothing), not
            // `HttpRequest::cookie`, which drops them all when one is bad.
            let sid = find_cookie(req.headers(), "sid").ok_or(SessionError::Unauthenticated(
                Reason::NoCookie,
                "no sid cookie",
            ))?;
            let (sub, attributes) =
                self.sessions
                    .get(&sid)
                    .ok_or(SessionError::Unauthenticated(
                        Reason::UnknownSession,
                        "unknown session",
                    ))?;
            Principal::new(sub.clone(), attributes.clone())
                .map_err(|why| SessionError::Unauthenticated(Reason::NoSubject, why))
        })
    }
}

fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    realtime_token::telemetry::init_logging(config.ops.log_format);
    let attributes = json!({"team": "blue"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let authenticator = Arc::new(MapAuthenticator {
        sessions: HashMap::from([("abc123".to_owned(), ("alice".to_owned(), attributes))]),
    });
    let served = actix_web::rt::System::new().block_on(async {
        Application::build_with_authenticator(&config, authenticator)?
            .run_until_stopped()
            .await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

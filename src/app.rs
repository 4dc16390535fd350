//! Builds the actix application and server from a [`Config`].

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::{from_fn, DefaultHeaders, Next};
use actix_web::{web, App, HttpServer};
use futures_util::FutureExt as _;

use crate::admin::AdminKey;
use crate::config::Config;
use crate::error::ApiError;
use crate::origin::{self, Origins};
use crate::policy::RoomPolicy;
use crate::routes;
use crate::session::{self, SessionAuthenticator};
use crate::token::TokenIssuer;

/// Everything a request handler needs, shared by all workers.
pub struct AppState {
    /// Signs tokens.
    pub issuer: TokenIssuer,
    /// Grants rooms.
    pub policy: RoomPolicy,
    /// Checks sessions.
    pub authenticator: Arc<dyn SessionAuthenticator>,
    /// The CORS / CSRF allow-list.
    pub origins: Origins,
    /// Set when bearer-key minting is enabled.
    pub admin_key: Option<AdminKey>,
}

impl AppState {
    /// State for `config` with the given authenticator.
    pub fn new(config: &Config, authenticator: Arc<dyn SessionAuthenticator>) -> Self {
        Self {
            issuer: TokenIssuer::new(&config.jwt),
            policy: config.policy.clone(),
            authenticator,
            origins: Origins::new(&config.allowed_origins),
            admin_key: config.admin_api_key.as_ref().map(AdminKey::new),
        }
    }
}

/// Registers the routes (for embedding in another actix `App`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/realtime-token")
            .route(web::post().to(routes::realtime_token::issue_token))
            .route(web::method(Method::OPTIONS).to(origin::preflight))
            .default_service(web::to(routes::method_not_allowed)),
    )
    .service(
        web::resource("/healthz")
            .route(web::get().to(routes::health::healthz))
            .default_service(web::to(routes::method_not_allowed)),
    )
    .service(
        web::resource("/readyz")
            .route(web::get().to(routes::health::readyz))
            .default_service(web::to(routes::method_not_allowed)),
    );
}

/// Middleware: a panic in a handler or authenticator becomes a JSON 500
/// instead of a dropped connection. (The request cannot be kept for a
/// response of our own: cloning it breaks routing, so the error goes back
/// up and actix renders it with [`ApiError`]'s `error_response`.)
async fn catch_panic(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match std::panic::AssertUnwindSafe(next.call(req))
        .catch_unwind()
        .await
    {
        Ok(res) => res,
        Err(_) => Err(ApiError::Internal("a request handler panicked".into()).into()),
    }
}

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `HOST:PORT` and builds the server with the configured backend.
    pub fn build(config: &Config) -> std::io::Result<Self> {
        let authenticator = session::from_config(config).map_err(std::io::Error::other)?;
        Self::build_with_authenticator(config, authenticator)
    }

    /// Binds and builds the server with your own [`SessionAuthenticator`].
    pub fn build_with_authenticator(
        config: &Config,
        authenticator: Arc<dyn SessionAuthenticator>,
    ) -> std::io::Result<Self> {
        let address = (config.server.host.as_str(), config.server.port);
        let listener = TcpListener::bind(address).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "HOST/PORT: cannot listen on {}:{}: {e}; choose a free PORT or another HOST",
                    config.server.host, config.server.port
                ),
            )
        })?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState::new(config, authenticator));
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(routes)
                .default_service(web::to(routes::not_found))
                .wrap(from_fn(catch_panic))
                .wrap(from_fn(origin::cors))
                .wrap(DefaultHeaders::new().add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")))
        })
        .client_request_timeout(Duration::from_secs(5))
        .shutdown_timeout(10);
        if let Some(workers) = config.server.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener)?.run();
        Ok(Self { port, server })
    }

    /// The port actually bound (useful with `PORT=0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (SIGINT/SIGTERM or the handle).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

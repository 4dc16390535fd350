//! Builds the actix application and server from a [`Config`].

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::{header, Method};
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};

mod shutdown;

use crate::address::ClientResolver;
use crate::config::Config;
use crate::drain::Drain;
use crate::http::access_log::{access_log, AccessLog};
use crate::http::catch_panic::catch_panic;
use crate::http::client_addr::client_addr;
use crate::http::origin::{cors, Origins};
use crate::metrics::Metrics;
use crate::rooms::Rooms;
use crate::routes;
use crate::session::store::PgPools;
use crate::session::{self, SessionAuthenticator};
use crate::state::AppState;

/// Registers the routes (for embedding in another actix `App`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/realtime-token")
            .name("/api/realtime-token")
            .route(web::post().to(routes::realtime_token::issue_token))
            .route(web::method(Method::OPTIONS).to(routes::preflight::preflight))
            .default_service(web::to(routes::post_only))
            // Here, after routing, so that a panic is answered like any
            // other error (with the CORS, request id and nosniff headers).
            .wrap(from_fn(catch_panic)),
    )
    .service(get_resource("/.well-known/jwks.json", routes::jwks::jwks))
    .service(get_resource("/healthz", routes::health::healthz))
    .service(get_resource("/readyz", routes::health::readyz));
}

/// Registers `GET /metrics`.
pub fn metrics_route(cfg: &mut web::ServiceConfig) {
    cfg.service(get_resource("/metrics", routes::metrics::metrics));
}

/// Registers `GET /openapi.yaml`: on the main port, or beside `/metrics`
/// when `METRICS_ADDR` gives the operator endpoints their own port.
pub fn openapi_route(cfg: &mut web::ServiceConfig) {
    cfg.service(get_resource("/openapi.yaml", routes::openapi::openapi));
}

/// A resource answering GET and HEAD with `handler`, 405 otherwise.
fn get_resource<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .name(path)
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
        .default_service(web::to(routes::get_only))
}

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    server: Server,
    metrics_server: Option<Server>,
    drain: Arc<Drain>,
    grace: Duration,
}

impl Application {
    /// Binds `HOST:PORT` and builds the server with the configured backend.
    /// Call it inside an actix (or Tokio) runtime: store backends start
    /// their connection tasks there. The room source is not checked here
    /// (see [`Application::start`]); its first lookup or `/readyz` will.
    pub fn build(config: &Config) -> std::io::Result<Self> {
        let (authenticator, rooms, metrics) = Self::parts(config)?;
        Self::build_with(config, authenticator, rooms, metrics)
    }

    /// [`Application::build`], after checking the room source (a
    /// `ROOMS_QUERY` must prepare): an error of kind `InvalidInput` names
    /// the variable; a source that does not answer yet is only logged.
    pub async fn start(config: &Config) -> std::io::Result<Self> {
        let (authenticator, rooms, metrics) = Self::parts(config)?;
        rooms
            .check_at_startup()
            .await
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        Self::build_with(config, authenticator, rooms, metrics)
    }

    /// Binds and builds the server with your own [`SessionAuthenticator`].
    pub fn build_with_authenticator(
        config: &Config,
        authenticator: Arc<dyn SessionAuthenticator>,
    ) -> std::io::Result<Self> {
        let metrics = metrics_for(config);
        let rooms = rooms_for(config, &PgPools::default(), &metrics)?;
        Self::build_with(config, authenticator, rooms, metrics)
    }

    /// The configured authenticator and rooms, sharing PostgreSQL pools
    /// where they name the same database, and the metrics.
    fn parts(config: &Config) -> std::io::Result<(Arc<dyn SessionAuthenticator>, Rooms, Metrics)> {
        let metrics = metrics_for(config);
        let pools = PgPools::default();
        let authenticator = pools
            .scope(|| session::from_settings(&config.session, metrics.cache()))
            .map_err(std::io::Error::other)?;
        let rooms = rooms_for(config, &pools, &metrics)?;
        Ok((authenticator, rooms, metrics))
    }

    fn build_with(
        config: &Config,
        authenticator: Arc<dyn SessionAuthenticator>,
        rooms: Rooms,
        metrics: Metrics,
    ) -> std::io::Result<Self> {
        let listener = bind(&config.server.host, config.server.port, "HOST/PORT")?;
        let port = listener.local_addr()?.port();
        let metrics_listener = match &config.ops.metrics_addr {
            Some(addr) => {
                let addr: std::net::SocketAddr = addr
                    .parse()
                    .map_err(|_| std::io::Error::other("METRICS_ADDR: not ip:port"))?;
                Some(bind(&addr.ip().to_string(), addr.port(), "METRICS_ADDR")?)
            }
            None => None,
        };
        let metrics_port = match &metrics_listener {
            Some(l) => Some(l.local_addr()?.port()),
            None => None,
        };
        let ops_port = metrics_listener.is_some();
        let metrics_on_main_port = !ops_port && config.ops.metrics;
        let access = AccessLog {
            metrics: metrics.clone(),
            format: config.ops.log_format,
        };
        let drain = Arc::new(Drain::default());
        let state = web::Data::new(
            AppState::new(config, authenticator, rooms, metrics, drain.clone())
                .map_err(std::io::Error::other)?,
        );
        let origins = Origins::new(&config.allowed_origins);
        let resolver = ClientResolver::new(
            config.limits.trusted_proxies.clone(),
            config.limits.proxy_header,
        );
        let metrics_state = state.clone();
        let mut server = HttpServer::new(move || {
            // The middlewares' data: a copy per worker, so that extracting it
            // per request counts on an `Arc` no other worker writes.
            App::new()
                .app_data(state.clone())
                .app_data(web::Data::new(Origins::clone(&origins)))
                .app_data(web::Data::new(AccessLog::clone(&access)))
                .app_data(web::Data::new(ClientResolver::clone(&resolver)))
                .configure(routes)
                .configure(|cfg| {
                    if !ops_port {
                        openapi_route(cfg);
                    }
                    if metrics_on_main_port {
                        metrics_route(cfg);
                    }
                })
                .default_service(web::to(routes::not_found))
                .wrap(from_fn(cors))
                .wrap(from_fn(access_log))
                // Outside the access log, which reads the address it leaves.
                .wrap(from_fn(client_addr))
                .wrap(DefaultHeaders::new().add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")))
        })
        // Slow clients: headers must arrive within 5 s (the body has its own
        // bound in the handler), idle keep-alive connections close after 5 s.
        .client_request_timeout(Duration::from_secs(5))
        .client_disconnect_timeout(Duration::from_secs(1))
        .keep_alive(Duration::from_secs(5))
        .max_connection_rate(1024)
        .shutdown_timeout(config.ops.shutdown_timeout.as_secs().max(1))
        // Signals are ours (`run_until_stopped`): SIGTERM drains first.
        .disable_signals();
        if let Some(workers) = config.server.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener)?.run();
        let metrics_server = match metrics_listener {
            None => None,
            Some(listener) => Some(
                HttpServer::new(move || {
                    App::new()
                        .app_data(metrics_state.clone())
                        .configure(metrics_route)
                        .configure(openapi_route)
                        .default_service(web::to(routes::not_found))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)?
                .run(),
            ),
        };
        Ok(Self {
            port,
            metrics_port,
            server,
            metrics_server,
            drain,
            grace: config.ops.shutdown_grace,
        })
    }

    /// The port actually bound (useful with `PORT=0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The metrics port, when `METRICS_ADDR` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped: by the handle, or by a signal
    /// (see [`shutdown::on_signals`]).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let signals = tokio::spawn(shutdown::on_signals(
            self.server.handle(),
            self.drain.clone(),
            self.grace,
        ));
        let result = self.serve().await;
        signals.abort();
        result
    }

    async fn serve(self) -> std::io::Result<()> {
        let Some(metrics_server) = self.metrics_server else {
            return self.server.await;
        };
        let metrics_handle = metrics_server.handle();
        let metrics_task = tokio::spawn(metrics_server);
        let result = self.server.await;
        metrics_handle.stop(true).await;
        let _ = metrics_task.await;
        result
    }
}

/// The env policy and the room source `config` names.
fn rooms_for(config: &Config, pools: &PgPools, metrics: &Metrics) -> std::io::Result<Rooms> {
    Rooms::new(config.policy.clone(), &config.rooms, pools, metrics.rooms())
        .map_err(std::io::Error::other)
}

/// Recording metrics, or none with `METRICS=off`.
fn metrics_for(config: &Config) -> Metrics {
    if !config.ops.metrics {
        return Metrics::disabled();
    }
    let metrics = Metrics::new();
    metrics.count_from(
        "realtime_token_log_records_dropped_total",
        "Log records dropped because stderr did not take them as fast as they came (8 MiB waiting); \
         requests never wait for the log.",
        crate::telemetry::dropped_records,
    );
    metrics
}

fn bind(host: &str, port: u16, vars: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind((host, port)).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("{vars}: cannot listen on {host}:{port}: {e}; choose a free port or another address"),
        )
    })
}

//! Stopping on signals, Kubernetes-style: SIGTERM (or SIGINT) starts a
//! drain: `/readyz` answers 503 at once while every request is still
//! served for `SHUTDOWN_GRACE`, so the load balancer takes this replica out
//! first; then the server stops accepting and gives in-flight requests up
//! to `SHUTDOWN_TIMEOUT`. A second SIGTERM/SIGINT ends the grace early;
//! SIGQUIT stops at once.

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::rt::signal::unix::{signal, SignalKind};

use crate::drain::Drain;

/// Waits for SIGTERM or SIGINT (graceful) or SIGQUIT (immediate); drains
/// for `grace` after a graceful one, then stops `server`.
pub async fn on_signals(server: ServerHandle, drain: Arc<Drain>, grace: Duration) {
    let (Ok(mut term), Ok(mut int), Ok(mut quit)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::quit()),
    ) else {
        log::error!("cannot listen for signals; stop the server with SIGKILL");
        return;
    };
    let graceful = tokio::select! {
        _ = term.recv() => true,
        _ = int.recv() => true,
        _ = quit.recv() => false,
    };
    if !graceful {
        log::info!("SIGQUIT: stopping now");
        server.stop(false).await;
        return;
    }
    drain.start();
    if !grace.is_zero() {
        log::info!(
            "draining for {grace:?} (SHUTDOWN_GRACE): /readyz answers 503, requests are still served"
        );
        tokio::select! {
            _ = tokio::time::sleep(grace) => {}
            _ = term.recv() => log::info!("second signal: ending the grace early"),
            _ = int.recv() => log::info!("second signal: ending the grace early"),
        }
    }
    log::info!("stopping: in-flight requests may finish (SHUTDOWN_TIMEOUT)");
    server.stop(true).await;
}

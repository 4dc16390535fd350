//! The client address middleware: resolves the caller's address once per
//! request (trusted proxies applied) for the rate limiter, the session
//! cache and the access log, and the host a trusted proxy forwarded, for
//! the origin guard.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage as _};

use crate::address::{ClientAddr, ClientResolver};

/// Middleware: puts the request's [`ClientAddr`] and
/// [`ForwardedHost`](crate::address::ForwardedHost) into its extensions.
pub async fn client_addr(
    resolver: web::Data<ClientResolver>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(peer) = req.peer_addr() {
        let ip = resolver.resolve(peer.ip(), req.headers());
        let host = resolver.forwarded_host(peer.ip(), req.headers());
        let mut extensions = req.extensions_mut();
        extensions.insert(ClientAddr(ip));
        if let Some(host) = host {
            extensions.insert(host);
        }
    }
    next.call(req).await
}

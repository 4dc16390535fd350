//! The yardstick of `bench/instructions.sh` and `bench/throughput.sh`: a
//! minimal correct token endpoint in actix-web, what a team would write by
//! hand without this service. It checks the Express signed `session` cookie
//! (HMAC-SHA256, constant-time), signs an HS256 JWT with `sub`, `iat`,
//! `exp`, `jti` and `permissions.rooms`, and answers the service's JSON with
//! `Cache-Control: no-store`; anything else is a 401. No access log, no
//! metrics, no rate limits, no CORS, no origin guard.
//!
//! Run: `cargo build --release --example bench-minimal`, then
//! `JWT_SECRET=... SESSION_SECRET=... PORT=8095 WORKERS=1 target/release/examples/bench-minimal`.
//! `SESSION_SECRET=... bench-minimal cookies N` prints N signed cookie values
//! (`user-0` ... `user-<N-1>`, percent-encoded) for bench/many-keys.lua.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::RngCore as _;
use serde::Serialize;
use sha2::Sha256;

const TTL: u64 = 3600;

struct Keys {
    cookie: Hmac<Sha256>,
    jwt: EncodingKey,
    header: Header,
}

#[derive(Serialize)]
struct Permissions<'a> {
    rooms: &'a [&'a str],
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
    permissions: Permissions<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Answer<'a> {
    token: String,
    expires_at: u64,
    expires_in: u64,
    rooms: &'a [&'a str],
}

/// `s:<value>.<base64 HMAC-SHA256>`, the cookie-signature format.
fn unsign<'c>(key: &Hmac<Sha256>, cookie: &'c str) -> Option<&'c str> {
    let (value, sig) = cookie.strip_prefix("s:")?.rsplit_once('.')?;
    let sig = STANDARD_NO_PAD.decode(sig).ok()?;
    let mut mac = key.clone();
    mac.update(value.as_bytes());
    mac.verify_slice(&sig).ok().map(|()| value)
}

async fn token(req: HttpRequest, keys: web::Data<Keys>) -> HttpResponse {
    let unauthenticated =
        || HttpResponse::Unauthorized().json(serde_json::json!({"error": "unauthenticated"}));
    let Some(cookie) = req.cookie("session") else {
        return unauthenticated();
    };
    let Some(sub) = unsign(&keys.cookie, cookie.value()) else {
        return unauthenticated();
    };
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut jti = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut jti);
    let rooms = &["document-*"];
    let claims = Claims {
        sub,
        iat,
        exp: iat + TTL,
        jti: URL_SAFE_NO_PAD.encode(jti),
        permissions: Permissions { rooms },
    };
    match jsonwebtoken::encode(&keys.header, &claims, &keys.jwt) {
        Ok(token) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .json(Answer {
                token,
                expires_at: claims.exp,
                expires_in: TTL,
                rooms,
            }),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

/// `s:<value>.<sig>` as cookie-signature writes it, percent-encoded as
/// Express's `res.cookie` sends it.
fn sign(key: &Hmac<Sha256>, value: &str) -> String {
    let mut mac = key.clone();
    mac.update(value.as_bytes());
    let sig = STANDARD_NO_PAD.encode(mac.finalize().into_bytes());
    format!("s:{value}.{sig}")
        .replace(':', "%3A")
        .replace('+', "%2B")
        .replace('/', "%2F")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let var = |name: &str| {
        std::env::var(name).map_err(|_| std::io::Error::other(format!("{name} is not set")))
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, count] = &args[..] {
        if command == "cookies" {
            let key = Hmac::<Sha256>::new_from_slice(var("SESSION_SECRET")?.as_bytes())
                .expect("any key length");
            let count: usize = count.parse().map_err(std::io::Error::other)?;
            let mut out = String::new();
            for i in 0..count {
                out.push_str(&sign(&key, &format!("user-{i}")));
                out.push('\n');
            }
            print!("{out}");
            return Ok(());
        }
    }
    let keys = web::Data::new(Keys {
        cookie: Hmac::new_from_slice(var("SESSION_SECRET")?.as_bytes()).expect("any key length"),
        jwt: EncodingKey::from_secret(var("JWT_SECRET")?.as_bytes()),
        header: Header::new(Algorithm::HS256),
    });
    let port: u16 = var("PORT")?.parse().map_err(std::io::Error::other)?;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(keys.clone())
            .route("/api/realtime-token", web::post().to(token))
            .route("/healthz", web::get().to(HttpResponse::Ok))
    });
    if let Ok(workers) = var("WORKERS") {
        server = server.workers(workers.parse().map_err(std::io::Error::other)?);
    }
    server.bind(("127.0.0.1", port))?.run().await
}

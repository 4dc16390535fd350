//! A fake "who am I" endpoint: a real HTTP server in the test, answering
//! what the test sets, counting and keeping what it receives.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

/// What the fake "who am I" endpoint answers.
#[derive(Clone)]
pub enum Answer {
    Json(serde_json::Value),
    /// This JSON with these response headers.
    JsonWith(serde_json::Value, Vec<(&'static str, String)>),
    Status(u16),
    Garbage,
    Hang,
    Redirect,
    Slow(serde_json::Value, Duration),
    /// This JSON when the `Cookie` header holds the string, else 401.
    ForCookie(String, serde_json::Value),
}

/// A request the upstream received: its URI and headers.
pub type Seen = (String, Vec<(String, String)>);

#[derive(Clone)]
pub struct Upstream {
    answer: Arc<Mutex<Answer>>,
    /// Requests received.
    pub hits: Arc<AtomicUsize>,
    /// Every request's URI and headers.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Every request's body.
    pub bodies: Arc<Mutex<Vec<String>>>,
    port: u16,
}

impl Upstream {
    pub async fn start(answer: Answer) -> Self {
        let state = Upstream {
            answer: Arc::new(Mutex::new(answer)),
            hits: Arc::new(AtomicUsize::new(0)),
            seen: Arc::new(Mutex::new(Vec::new())),
            bodies: Arc::new(Mutex::new(Vec::new())),
            port: 0,
        };
        let data = web::Data::new(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(whoami))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Upstream { port, ..state }
    }

    pub fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/api/me", self.port)
    }
}

async fn whoami(req: HttpRequest, body: web::Bytes, state: web::Data<Upstream>) -> HttpResponse {
    state.hits.fetch_add(1, Ordering::SeqCst);
    state
        .bodies
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&body).into_owned());
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    state
        .seen
        .lock()
        .unwrap()
        .push((req.uri().to_string(), headers));
    let answer = state.answer.lock().unwrap().clone();
    let cookie = req
        .headers()
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match answer {
        Answer::ForCookie(valid, v) if cookie.contains(valid.as_str()) => {
            HttpResponse::Ok().json(v)
        }
        Answer::ForCookie(..) => HttpResponse::Unauthorized().finish(),
        Answer::Json(v) => HttpResponse::Ok().json(v),
        Answer::JsonWith(v, headers) => {
            let mut res = HttpResponse::Ok();
            for header in headers {
                res.append_header(header);
            }
            res.json(v)
        }
        Answer::Status(s) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(s).unwrap()).body("nope")
        }
        Answer::Garbage => HttpResponse::Ok()
            .content_type("application/json")
            .body("<html>oops"),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
        Answer::Redirect => HttpResponse::Found()
            .insert_header(("Location", "/login"))
            .finish(),
        Answer::Slow(v, d) => {
            tokio::time::sleep(d).await;
            HttpResponse::Ok().json(v)
        }
    }
}

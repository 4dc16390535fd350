//! A load run: a few tasks posting token requests back to back, each
//! answer kept with when it was sent and answered (for the fault tests).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::eventually;

/// One request of the load: sent and answered (since the start), status
/// (0 when the request itself failed).
pub type Row = (Duration, Duration, u16);

pub struct Load {
    start: Instant,
    results: Arc<Mutex<Vec<Row>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// `tasks` loops posting to `url` with `cookie`.
    pub fn start(client: &reqwest::Client, url: &str, cookie: &str, tasks: usize) -> Self {
        let start = Instant::now();
        let results: Arc<Mutex<Vec<Row>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..tasks)
            .map(|_| {
                let (client, url, cookie) = (client.clone(), url.to_owned(), cookie.to_owned());
                let (results, stop) = (results.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let sent = start.elapsed();
                        let status = client
                            .post(&url)
                            .header("Cookie", &cookie)
                            .send()
                            .await
                            .map(|r| r.status().as_u16())
                            .unwrap_or(0);
                        results
                            .lock()
                            .unwrap()
                            .push((sent, start.elapsed(), status));
                    }
                })
            })
            .collect();
        Self {
            start,
            results,
            stop,
            tasks,
        }
    }

    /// Time since the load started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Waits until `n` answers match `pred`.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Row) -> bool, n: usize) {
        eventually(what, async || {
            self.results
                .lock()
                .unwrap()
                .iter()
                .filter(|r| pred(r))
                .count()
                >= n
        })
        .await;
    }

    /// Stops the load; every answer.
    pub async fn stop(self) -> Vec<Row> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await.unwrap();
        }
        let results = self.results.lock().unwrap().clone();
        results
    }
}

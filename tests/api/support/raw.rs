//! Raw HTTP over TCP, for requests a client library will not send
//! (malformed, oversized, incomplete).

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How long the server has to answer and close.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);

/// Sends `request` to `addr` (`host:port`), then reads until the server
/// closes; panics when it neither answers nor closes in time. The server
/// may answer and close before reading everything, so a failed write is
/// not an error.
pub async fn raw_exchange(addr: &str, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    tokio::time::timeout(ANSWER_WITHIN, stream.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes the connection in time")
        .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

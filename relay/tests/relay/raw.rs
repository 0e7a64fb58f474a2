//! Raw sockets for the tests of hostile clients: a request written by hand (or half of
//! one), and what comes back before the relay closes the connection.

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for the relay to answer or close, at most.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A plain connection to `addr`.
pub async fn connect(addr: std::net::SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.unwrap()
}

/// Writes `bytes` (a request or part of one).
pub async fn send<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) {
    stream.write_all(bytes).await.unwrap();
    stream.flush().await.unwrap();
}

/// Reads until the relay closes the connection (or resets it); returns what it sent
/// and when it closed. Panics after [`PATIENCE`].
pub async fn until_closed<S: AsyncRead + Unpin>(stream: &mut S) -> (String, Instant) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read_all)
        .await
        .expect("the relay never closed the connection");
    (String::from_utf8_lossy(&got).into_owned(), Instant::now())
}

/// A whole `GET path` that asks the relay to close afterwards.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n").into_bytes()
}

/// The status code of a raw HTTP/1.1 answer, if it holds one.
pub fn status(answer: &str) -> Option<u16> {
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
}

/// The JSON body of a raw answer (after the blank line), or `Null`.
pub fn json(answer: &str) -> serde_json::Value {
    answer
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str(body).ok())
        .unwrap_or(serde_json::Value::Null)
}

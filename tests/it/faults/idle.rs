//! Idle connections vs memory: regent's RSS with N keep-alive connections held open (each has
//! sent one `GET /healthz` and read the answer), and a token request answered meanwhile.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::stack::{Stack, StackOptions, fd_limit};
use crate::env::SERVICE;
use crate::fixtures::try_http_request;

/// One row: connections held, regent's RSS, and how long a token request took meanwhile.
pub struct IdleRow {
    /// Connections held open.
    pub connections: usize,
    /// regent's RSS, KiB.
    pub rss_kib: u64,
    /// A `/token` request's time while they were held.
    pub token_latency: Duration,
}

/// For each count (ascending), opens that many idle keep-alive connections to a fresh stack
/// allowing them, measures, and keeps them for the next count.
pub fn run(counts: &[usize]) -> Vec<IdleRow> {
    let most = counts.iter().copied().max().unwrap_or(0);
    let mut stack = Stack::start(StackOptions { max_connections: most + 1024 });
    assert!(
        fd_limit() > most + 256,
        "{most} idle connections need an open-file limit above {}: raise it (ulimit -n, prlimit)",
        most + 256
    );
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
    let mut held: Vec<TcpStream> = Vec::new();
    let mut rows = Vec::new();
    for &count in counts {
        runtime.block_on(async {
            while held.len() < count {
                let batch = (count - held.len()).min(256);
                let opened = futures::future::join_all((0..batch).map(|_| open(stack.addr))).await;
                held.extend(opened);
            }
        });
        // Let the allocator settle after the burst of handshakes.
        std::thread::sleep(Duration::from_millis(500));
        let started = Instant::now();
        let url = format!("http://{}/token?service={SERVICE}&scope=repository:alice/app:pull", stack.addr);
        let auth = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "alice:alice-pw")
        );
        let answer =
            try_http_request("GET", &url, &[("Authorization", &auth)], b"").expect("a token request");
        assert_eq!(answer.status, 200, "a token request with {count} idle connections: {}", answer.body);
        rows.push(IdleRow { connections: count, rss_kib: stack.rss_kib(), token_latency: started.elapsed() });
    }
    stack.assert_regent_healthy();
    drop(held);
    rows
}

/// A connection that sent one keep-alive `GET /healthz` and read its answer.
async fn open(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    // The answer is small: read until the head and a short body arrived.
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "regent closed an idle connection before answering");
        answer.extend_from_slice(&buf[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    stream
}

/// Prints the rows.
pub fn print(rows: &[IdleRow]) {
    let base = rows.first().map_or(0, |row| row.rss_kib);
    println!(
        "\n| idle keep-alive connections | regent RSS | over 0 connections | per connection | /token meanwhile |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        let over = row.rss_kib.saturating_sub(base);
        let per = if row.connections == 0 {
            "-".to_owned()
        } else {
            format!("{:.1} KiB", over as f64 / row.connections as f64)
        };
        println!(
            "| {} | {} KiB | {over} KiB | {per} | {:.1} ms |",
            row.connections,
            row.rss_kib,
            row.token_latency.as_secs_f64() * 1000.0
        );
    }
}

//! Out of file descriptors: the real `regent` binary under a low `RLIMIT_NOFILE` (prlimit)
//! keeps its accept loop going when `accept` fails with "Too many open files", logs that at
//! WARN a bounded number of times (not once per attempt), and answers again once clients have
//! closed their connections.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::wait_until;
use crate::env::TestEnv;
use crate::fixtures::{ChildGuard, find_program, free_port};

/// The descriptor limit regent runs under: enough to start, soon exhausted by clients.
const NOFILE: u32 = 64;
/// Connections the test opens: far more than the limit lets regent accept (about 50), and
/// fewer than that plus the listen backlog (128), so that every connect completes.
const FLOOD: usize = 150;

/// `GET /healthz` on a fresh connection; `true` when it answered 200 within two seconds.
async fn healthy(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request = format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        Some(answer.starts_with(b"HTTP/1.1 200 "))
    };
    matches!(tokio::time::timeout(Duration::from_secs(2), attempt).await, Ok(Some(true)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_survives_running_out_of_file_descriptors() {
    let env = TestEnv::new("http://127.0.0.1:1/token");
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("regent.log");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut command = Command::new(find_program("prlimit", "util-linux"));
    command
        .arg(format!("--nofile={NOFILE}:{NOFILE}"))
        .arg(env!("CARGO_BIN_EXE_regent"))
        .args(["serve", "--config"])
        .arg(env.config_path())
        .args(["--listen", &addr.to_string()])
        .env_remove("REGENT_CONFIG")
        .env("RUST_LOG", "regent=info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap());
    let mut regent = ChildGuard(command.spawn().unwrap());
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    wait_until("regent to answer", || healthy(addr)).await;

    let starved = Instant::now();
    let mut flood = Vec::with_capacity(FLOOD);
    for _ in 0..FLOOD {
        flood.push(TcpStream::connect(addr).await.unwrap());
    }
    wait_until("the accept error in the log", || {
        let text = log();
        async move { text.contains("accept failed") }
    })
    .await;
    let text = log();
    let line = text.lines().find(|line| line.contains("accept failed")).unwrap();
    assert!(line.contains("WARN") && line.contains("Too many open files"), "{line}");
    // Keep it starved a while: the loop retries with a backoff, the log stays short.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(regent.exited().is_none(), "regent exited:\n{}", log());

    drop(flood);
    let started = Instant::now();
    wait_until("regent to answer again after the clients closed", || healthy(addr)).await;
    eprintln!("answering again {:?} after the flood closed", started.elapsed());
    assert!(regent.exited().is_none(), "regent exited:\n{}", log());
    let warnings = log().lines().filter(|line| line.contains("accept failed")).count();
    let most = starved.elapsed().as_secs() / 10 + 2;
    assert!(warnings <= most as usize, "one WARN per 10 s while starved, got {warnings}:\n{}", log());
}

//! Connection counts under `[limits]`: the real `regent serve` with two listeners and a
//! per-listener cap refuses the full listener's next connections with one WARN line per 10
//! seconds while the other listener serves; and 500 idle connections (silent, half a head,
//! an HTTP/2 preface, kept alive after a request) held open do not keep a token request from
//! being answered in well under a second.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use regent::config::FrontConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::server::{FrontServer, ListenerSpec};
use super::wait_until;
use crate::env::{SERVICE, TestEnv};
use crate::fixtures::{RegentServe, basic, free_port, http_get};

/// `GET /healthz` on a fresh connection from `client`: the whole answer (empty when the server
/// closed the connection without one).
async fn healthz_from(client: &str, addr: SocketAddr) -> String {
    let mut stream = connect_from(client, addr).await;
    let request = format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    String::from_utf8_lossy(&read_answer(&mut stream, |_| false).await).into_owned()
}

/// A kept-alive connection from `client` that regent has answered one `GET /healthz` on (so it
/// is counted); retried while regent refuses it because a connection it is finishing still
/// holds a place.
async fn hold_from(client: &str, addr: SocketAddr) -> TcpStream {
    const ANSWERED: &[u8] = b"\r\n\r\nok\n";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut stream = connect_from(client, addr).await;
        let request = format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\n\r\n");
        let _ = stream.write_all(request.as_bytes()).await;
        if read_answer(&mut stream, |answer| answer.ends_with(ANSWERED)).await.ends_with(ANSWERED) {
            return stream;
        }
        assert!(Instant::now() < deadline, "regent never kept a connection from {client}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What `stream` sends until it closes, fails or `complete` says the answer is whole (within
/// 15 s, or the test fails).
async fn read_answer(stream: &mut TcpStream, complete: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), async {
        let mut buffer = [0u8; 4096];
        while !complete(&answer) {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => answer.extend_from_slice(&buffer[..read]),
            }
        }
    });
    read.await.expect("the server answers or closes");
    answer
}

/// A TCP connection to `server` from the loopback address `client`.
async fn connect_from(client: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{client}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_listener_refuses_with_a_throttled_warning_while_the_other_serves() {
    let env = TestEnv::new("http://127.0.0.1:5001/token");
    let (full, other) = (free_port(), free_port());
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    let text = text.replace("address = \"127.0.0.1:5001\"", &format!("address = \"127.0.0.1:{full}\""));
    let text = format!(
        "{text}\n[[listen]]\naddress = \"127.0.0.1:{other}\"\n\n[limits]\nmax_connections_per_listener = 5\n"
    );
    std::fs::write(env.config_path(), text).unwrap();
    let regent = RegentServe::start(env.config_path(), &env.config_path().with_file_name("serve.log"), &[]);
    let (full, other): (SocketAddr, SocketAddr) =
        (format!("127.0.0.1:{full}").parse().unwrap(), format!("127.0.0.1:{other}").parse().unwrap());
    wait_until("regent to listen", || async {
        TcpStream::connect(full).await.is_ok() && TcpStream::connect(other).await.is_ok()
    })
    .await;
    wait_until("regent to answer", || async { healthz_from("127.0.0.1", full).await.contains(" 200 ") })
        .await;

    // Five connections each answered once and kept alive: all five are counted, whatever
    // earlier probe connections regent was still finishing when they arrived.
    let mut held = Vec::new();
    for n in 0..5 {
        held.push(hold_from(&format!("127.0.0.{}", 2 + n), full).await);
    }
    let refusing = Instant::now();
    assert_eq!(healthz_from("127.0.0.9", full).await, "", "the sixth connection is refused");
    for n in 0..20 {
        let answer = healthz_from(&format!("127.0.0.{}", 10 + n), full).await;
        assert_eq!(answer, "", "connection {n} over the listener's cap is closed without an answer");
    }
    let answer = healthz_from("127.0.0.1", other).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "the other listener serves: {answer:?}");
    let text = regent.wait_for_lines("max_connections_per_listener", 1);
    let warnings: Vec<&str> =
        text.lines().filter(|line| line.contains("max_connections_per_listener")).collect();
    let most = refusing.elapsed().as_secs() as usize / 10 + 1;
    assert!(warnings.len() <= most, "one line per 10 s for 20 and more refusals:\n{text}");
    eprintln!("{}", warnings[0]);
    assert!(warnings[0].contains("WARN") && warnings[0].contains(&full.to_string()), "{}", warnings[0]);

    drop(held);
    wait_until("the full listener to serve again", || async {
        healthz_from("127.0.0.1", full).await.starts_with("HTTP/1.1 200 ")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_idle_connections_do_not_delay_a_token_request() {
    let env = TestEnv::new("http://127.0.0.1:1/token");
    let server = FrontServer::start(&env, vec![ListenerSpec::new(None, None)], FrontConfig::default());
    let addr = server.addr();
    let mut idle = Vec::with_capacity(500);
    // 100 from each of five addresses (the per-client cap is 256), in four states.
    for n in 0..500 {
        let mut stream = connect_from(&format!("127.0.0.{}", 2 + n % 5), addr).await;
        match n % 4 {
            0 => {}
            1 => stream
                .write_all(format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\nx-half: ").as_bytes())
                .await
                .unwrap(),
            2 => stream.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.unwrap(),
            _ => {
                let request = format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\n\r\n");
                stream.write_all(request.as_bytes()).await.unwrap();
            }
        }
        idle.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let url = format!("http://{addr}/token?service={SERVICE}&scope=repository:alice/app:pull,push");
    let mut timings = Vec::new();
    for _ in 0..5 {
        let url = url.clone();
        let started = Instant::now();
        let answer = tokio::task::spawn_blocking(move || {
            http_get(&url, &[("Authorization", &basic("alice", "alice-pw"))])
        })
        .await
        .unwrap();
        timings.push(started.elapsed());
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let slowest = timings.iter().max().copied().unwrap_or_default();
    eprintln!("token requests with 500 idle connections open: {timings:?}");
    assert!(slowest < Duration::from_secs(1), "a token request took {slowest:?}");

    // They are all still open: nothing closed them (the idle timeout is 60 s).
    let mut open = 0;
    for stream in &mut idle {
        let mut byte = [0u8; 1];
        let answer_or_close = tokio::time::timeout(Duration::from_millis(1), stream.peek(&mut byte)).await;
        let keep_alive_answer = matches!(answer_or_close, Ok(Ok(read)) if read > 0);
        if answer_or_close.is_err() || keep_alive_answer {
            open += 1;
        }
    }
    assert_eq!(open, 500, "every idle connection is still held open");
}

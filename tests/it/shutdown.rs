//! Graceful shutdown of the real `regent serve` in front of the real registry 2.8: on SIGTERM
//! new connections are refused while a large blob download (a slow client) finishes, and the
//! exit status is 0; a download that outlasts `[front] shutdown_timeout` is cut, and the
//! process still exits 0 soon after.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{Context, SHA256};
use nix::sys::signal::Signal;

use crate::env::TestEnv;
use crate::fixtures::{Registry, http_request};
use crate::served::{ConfigText, Served};

/// The blob: far more than the socket buffers between the client and the registry hold, so
/// regent is still sending when the signal comes.
const BLOB: usize = 64 << 20;
/// What the client reads before the signal.
const FIRST_READ: u64 = 1 << 20;
/// How long the process may take to exit once nothing holds it (generous: a shared machine).
const EXIT_WITHIN: Duration = Duration::from_secs(30);

/// The registry, regent in front of it with `shutdown_timeout`, and a blob pushed into the
/// registry as alice; returns them with the blob's digest and a pull token.
fn serving_a_blob(shutdown_timeout: &str) -> (Registry, Served, String, String) {
    let config = ConfigText::new();
    let env = TestEnv::new(&format!("http://{}/token", config.listen));
    let registry = Registry::start(env.registry_auth(format!("http://{}/token", config.listen)));
    let config = ConfigText {
        listener: format!("upstream = \"{}\"\n", registry.url()),
        tables: format!("[front]\nshutdown_timeout = \"{shutdown_timeout}\"\n"),
        ..config
    };
    let served = Served::start_in(env, config);
    let answer = served.token("alice", "alice-pw", "repository:alice/big:pull,push");
    assert_eq!(answer.status, 200, "{answer:?}");
    let token = answer.json()["token"].as_str().expect("token").to_owned();
    let blob: Vec<u8> = (0..BLOB).map(|i| (i % 251) as u8).collect();
    let digest = push_blob(&registry, &token, &blob);
    (registry, served, digest, token)
}

/// Pushes `blob` to `alice/big` in one PUT, straight to the registry; returns its digest.
fn push_blob(registry: &Registry, token: &str, blob: &[u8]) -> String {
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];
    let start = http_request("POST", &format!("{}/v2/alice/big/blobs/uploads/", registry.url()), &auth, b"");
    assert_eq!(start.status, 202, "{start:?}");
    let location = start.header("Location").expect("an upload Location").to_owned();
    let mut context = Context::new(&SHA256);
    context.update(blob);
    let digest = format!("sha256:{}", hex(context.finish().as_ref()));
    let separator = if location.contains('?') { '&' } else { '?' };
    let headers = [auth[0], ("Content-Type", "application/octet-stream")];
    let put = http_request("PUT", &format!("{location}{separator}digest={digest}"), &headers, blob);
    assert_eq!(put.status, 201, "{put:?}");
    digest
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A blob download through regent, read by the test at its own pace.
struct Download {
    reader: BufReader<TcpStream>,
    length: u64,
    read: u64,
    hash: Context,
}

impl Download {
    /// Sends the GET and reads the answer's head (200 with a length).
    fn start(regent: SocketAddr, digest: &str, token: &str) -> Self {
        let mut stream = TcpStream::connect(regent).expect("connect to regent");
        stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
        let request = format!(
            "GET /v2/alice/big/blobs/{digest} HTTP/1.1\r\nHost: {regent}\r\nAuthorization: Bearer {token}\r\n\
             Connection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).expect("send the request");
        let mut reader = BufReader::new(stream);
        let mut length = None;
        let mut status = String::new();
        reader.read_line(&mut status).expect("status line");
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("a header");
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = Some(value.trim().parse().expect("a length"));
            }
        }
        Self { reader, length: length.expect("Content-Length"), read: 0, hash: Context::new(&SHA256) }
    }

    /// Reads up to `bytes` more of the body (less at its end); an early end is an error.
    fn read(&mut self, bytes: u64) -> io::Result<()> {
        let mut buffer = vec![0; 64 << 10];
        let until = (self.read + bytes).min(self.length);
        while self.read < until {
            let want = buffer.len().min((until - self.read) as usize);
            let got = self.reader.read(&mut buffer[..want])?;
            if got == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("cut after {} bytes", self.read),
                ));
            }
            self.hash.update(&buffer[..got]);
            self.read += got as u64;
        }
        Ok(())
    }

    /// Reads the rest and returns the body's digest.
    fn finish(mut self) -> io::Result<String> {
        self.read(self.length - self.read)?;
        Ok(format!("sha256:{}", hex(self.hash.finish().as_ref())))
    }
}

/// Waits until connecting to `address` is refused.
fn wait_until_refused(address: SocketAddr) -> bool {
    let deadline = Instant::now() + EXIT_WITHIN;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn sigterm_refuses_new_connections_lets_a_slow_download_finish_and_exits_0() {
    let (_registry, mut served, digest, token) = serving_a_blob("60s");
    let regent = served.config.listen;
    let mut download = Download::start(regent, &digest, &token);
    download.read(FIRST_READ).expect("the first MiB");

    served.server.signal(Signal::SIGTERM);
    served.server.wait_for_lines("shutting down: refusing new connections", 1);
    assert!(wait_until_refused(regent), "regent still accepts connections after SIGTERM");
    std::thread::sleep(Duration::from_secs(1));
    assert!(served.server.exited().is_none(), "regent exited with a download under way");
    assert!(download.read < download.length, "the download is still under way");

    let received = download.finish().expect("the download completes after SIGTERM");
    assert_eq!(received, digest, "every byte arrived intact");
    let status = served.server.wait_exit(EXIT_WITHIN);
    assert!(status.success(), "exit status {status:?}; log:\n{}", served.server.log());
    let log = served.server.log();
    assert!(log.contains("shutdown: every open connection finished"), "{log}");
}

#[test]
fn a_download_outlasting_shutdown_timeout_is_cut_and_the_exit_is_still_0() {
    let (_registry, mut served, digest, token) = serving_a_blob("2s");
    let mut download = Download::start(served.config.listen, &digest, &token);
    download.read(FIRST_READ).expect("the first MiB");

    let signalled = Instant::now();
    served.server.signal(Signal::SIGTERM);
    let status = served.server.wait_exit(EXIT_WITHIN);
    let took = signalled.elapsed();
    assert!(status.success(), "exit status {status:?}; log:\n{}", served.server.log());
    assert!(took >= Duration::from_secs(2), "exited after {took:?}, before the 2 s shutdown_timeout");
    eprintln!("exited {took:?} after SIGTERM with shutdown_timeout = \"2s\"");
    let log = served.server.log();
    let cut = log.lines().find(|line| line.contains("shutdown: cut")).unwrap_or_else(|| panic!("{log}"));
    assert!(
        cut.contains(" WARN ") && cut.contains("cut 1 connections still open after shutdown_timeout"),
        "{cut}"
    );
    let error = download.finish().expect_err("the cut download ends early");
    assert!(matches!(error.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset), "{error}");
}

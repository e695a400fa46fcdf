//! The pieces of the proxy benchmark: a test PKI, the registry, nginx, regent, and a streaming
//! blob client over plain TCP or rustls.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::{Body, Bytes, Frame};
use hyper_util::rt::TokioIo;

/// The block the blob repeats; random-looking so no layer compresses it.
const BLOCK: usize = 1 << 20;

/// A CA and a leaf for 127.0.0.1, written as PEM files.
pub struct TestPki {
    /// The CA certificate PEM.
    pub ca_pem: String,
    /// The leaf certificate file.
    pub cert: PathBuf,
    /// The leaf key file.
    pub key: PathBuf,
}

impl TestPki {
    /// Makes the PKI and writes `server.crt`/`server.key` into `dir`.
    pub fn write(dir: &Path) -> Self {
        let ca_key = rcgen::KeyPair::generate().expect("ca key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "bench CA");
        let ca = ca_params.self_signed(&ca_key).expect("ca");
        let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
        let leaf_params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
        let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf");
        let cert = dir.join("server.crt");
        let key = dir.join("server.key");
        std::fs::write(&cert, leaf.pem()).expect("write cert");
        std::fs::write(&key, leaf_key.serialize_pem()).expect("write key");
        Self { ca_pem: ca.pem(), cert, key }
    }
}

/// A child process stopped on drop: SIGTERM first (nginx's master then stops its workers; a
/// SIGKILL would orphan them), SIGKILL if it is still there after five seconds.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on 127.0.0.1:{port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn program(path: &str, package: &str) -> &'static str {
    assert!(Path::new(path).exists(), "{path} is missing: apt-get install -y {package}");
    Box::leak(path.to_owned().into_boxed_str())
}

/// Debian's docker-registry without auth (the same for every path).
pub struct Registry {
    /// Its port.
    pub port: u16,
    _child: Guard,
}

impl Registry {
    /// Starts it with storage under `dir`.
    pub fn start(dir: &Path) -> Self {
        let port = free_port();
        let config = dir.join("registry.yml");
        let data = dir.join("registry-data");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                data.display()
            ),
        )
        .expect("registry config");
        let child = Command::new(program("/usr/bin/docker-registry", "docker-registry"))
            .args(["serve", config.to_str().expect("utf-8")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        wait_for_port(port, "docker-registry");
        Self { port, _child: Guard(child) }
    }
}

/// nginx configured as the seeds do.
pub struct Nginx {
    /// Its TLS port.
    pub port: u16,
    child: Guard,
}

impl Nginx {
    /// Starts nginx in front of the registry on `upstream` with the PKI's certificate.
    pub fn start(dir: &Path, pki: &TestPki, upstream: u16) -> Self {
        let port = free_port();
        let prefix = dir.join("nginx");
        std::fs::create_dir_all(prefix.join("tmp")).expect("nginx dir");
        let conf = prefix.join("nginx.conf");
        let mut f = std::fs::File::create(&conf).expect("nginx.conf");
        write!(
            f,
            "worker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {p}/tmp;\n  proxy_temp_path {p}/tmp;\n  server {{\n    listen 127.0.0.1:{port} ssl;\n    ssl_certificate {cert};\n    ssl_certificate_key {key};\n    client_max_body_size 0;\n    chunked_transfer_encoding on;\n    location / {{\n      proxy_pass http://127.0.0.1:{upstream};\n      proxy_http_version 1.1;\n      proxy_set_header Host $http_host;\n      proxy_set_header X-Forwarded-Proto $scheme;\n      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n      proxy_request_buffering off;\n      proxy_buffering off;\n      proxy_read_timeout 900;\n    }}\n  }}\n}}\n",
            p = prefix.display(),
            cert = pki.cert.display(),
            key = pki.key.display(),
        )
        .expect("write nginx.conf");
        let child = Command::new(program("/usr/sbin/nginx", "nginx"))
            .args([
                "-p",
                prefix.to_str().expect("utf-8"),
                "-c",
                conf.to_str().expect("utf-8"),
                "-g",
                "daemon off;",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        wait_for_port(port, "nginx");
        Self { port, child: Guard(child) }
    }

    /// The worker's pid (the process that moves the bytes).
    pub fn worker_pid(&self) -> u32 {
        let master = self.child.0.id();
        std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .find(|pid| parent_pid(*pid) == Some(master))
            .expect("an nginx worker")
    }
}

fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.split_whitespace().nth(1)?.parse().ok()
}

/// The peak resident set size (VmHWM) of `pid` in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// The `regent` binary serving a TLS listener in front of the registry.
pub struct Regent {
    /// Its TLS port.
    pub port: u16,
    child: Guard,
}

impl Regent {
    /// `regent init`, then `regent serve` with a TLS listener proxying to `upstream`.
    pub fn start(dir: &Path, pki: &TestPki, upstream: u16) -> Self {
        let port = free_port();
        let data = dir.join("regent");
        let bin = env!("CARGO_BIN_EXE_regent");
        let status = Command::new(bin)
            .args([
                "init",
                "--dir",
                data.to_str().expect("utf-8"),
                "--listen",
                &format!("127.0.0.1:{}", free_port()),
            ])
            .stdout(Stdio::null())
            .status()
            .expect("regent init");
        assert!(status.success(), "regent init failed");
        let config = data.join("regent.toml");
        let mut text = std::fs::read_to_string(&config).expect("config");
        text.push_str(&format!(
            "\n[[listen]]\naddress = \"127.0.0.1:{port}\"\nupstream = \"http://127.0.0.1:{upstream}\"\n[listen.tls]\ncertificate = \"{}\"\nkey = \"{}\"\n",
            pki.cert.display(),
            pki.key.display()
        ));
        std::fs::write(&config, text).expect("write config");
        let child = Command::new(bin)
            .args(["serve", "--config", config.to_str().expect("utf-8")])
            .env("RUST_LOG", "regent=warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("regent serve");
        wait_for_port(port, "regent");
        Self { port, child: Guard(child) }
    }

    /// The server's pid.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }
}

/// Where blobs go: plain HTTP or TLS trusting the test CA.
pub struct Target {
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Target {
    /// Plain HTTP on `port`.
    pub fn plain(port: u16) -> Self {
        Self { port, tls: None }
    }

    /// TLS on `port`, trusting the PKI's CA.
    pub fn tls(port: u16, pki: &TestPki) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        let der = rustls_pki_types::pem::PemObject::from_pem_slice(pki.ca_pem.as_bytes()).expect("ca pem");
        roots.add(der).expect("add ca");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self { port, tls: Some(Arc::new(config)) }
    }
}

/// The blob: `BLOCK` pseudo-random bytes repeated.
fn block() -> Bytes {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut data = vec![0u8; BLOCK];
    for chunk in data.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    Bytes::from(data)
}

/// `sha256:...` of the `size`-byte blob.
pub fn blob_digest(size: u64) -> String {
    let block = block();
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut left = size;
    while left > 0 {
        let n = left.min(BLOCK as u64) as usize;
        ctx.update(&block[..n]);
        left -= n as u64;
    }
    let hex: String = ctx.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A request body that streams the blob without holding it.
struct BlobBody {
    block: Bytes,
    left: u64,
}

impl Body for BlobBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(BLOCK as u64) as usize;
        self.left -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(self.block.slice(..n)))))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.left)
    }
}

type Sender<B> = hyper::client::conn::http1::SendRequest<B>;

async fn connect<B>(target: &Target) -> Sender<B>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", target.port)).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    match &target.tls {
        None => {
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.expect("h1");
            tokio::spawn(conn);
            sender
        }
        Some(config) => {
            let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("name");
            let tls = tokio_rustls::TlsConnector::from(config.clone()).connect(name, tcp).await.expect("tls");
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.expect("h1");
            tokio::spawn(conn);
            sender
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// Monolithic blob upload: `POST .../blobs/uploads/`, then `PUT <location>&digest=...`.
pub fn push(target: &Target, repo: &str, size: u64, digest: &str) {
    runtime().block_on(async {
        let mut start = connect::<http_body_util::Empty<Bytes>>(target).await;
        let request = hyper::Request::post(format!("/v2/{repo}/blobs/uploads/"))
            .header("host", format!("127.0.0.1:{}", target.port))
            .body(http_body_util::Empty::new())
            .expect("request");
        let response = start.send_request(request).await.expect("POST");
        assert_eq!(response.status(), 202, "starting the upload");
        let location = response.headers()["location"].to_str().expect("location").to_owned();
        let path = match location.find("/v2/") {
            Some(at) => location[at..].to_owned(),
            None => location,
        };
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut sender = connect::<BlobBody>(target).await;
        let request = hyper::Request::put(format!("{path}{separator}digest={digest}"))
            .header("host", format!("127.0.0.1:{}", target.port))
            .header("content-type", "application/octet-stream")
            .header("content-length", size)
            .body(BlobBody { block: block(), left: size })
            .expect("request");
        let response = sender.send_request(request).await.expect("PUT");
        let status = response.status();
        let body = response.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(status, 201, "finishing the upload: {}", String::from_utf8_lossy(&body));
    });
}

/// `GET .../blobs/<digest>`, counting the bytes.
pub fn pull(target: &Target, repo: &str, digest: &str) -> u64 {
    runtime().block_on(async {
        let mut sender = connect::<http_body_util::Empty<Bytes>>(target).await;
        let request = hyper::Request::get(format!("/v2/{repo}/blobs/{digest}"))
            .header("host", format!("127.0.0.1:{}", target.port))
            .body(http_body_util::Empty::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("GET");
        assert_eq!(response.status(), 200, "pulling the blob");
        let mut body = response.into_body();
        let mut total = 0u64;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.expect("frame").into_data() {
                total += data.len() as u64;
            }
        }
        total
    })
}

//! A small upstream for the proxy tests: an HTTP/1.1 hyper server that records what arrives.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::bodies::{Generated, TestBody, check_body};

/// What the upstream does with each request.
#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    /// Reads the whole body and answers 201 `{"len": N, "intact": bool}`; with `api_version`
    /// it sets `Docker-Distribution-Api-Version: registry/2.0` itself.
    Echo {
        /// Whether the answer carries the registry API version header.
        api_version: bool,
    },
    /// Answers 200 with this many pattern bytes.
    Download(u64),
    /// Reads the request head and never answers.
    Hang,
}

/// How a request body ended, as the upstream saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEnd {
    /// Still streaming (or not read).
    Open,
    /// Ended normally after this many bytes (and whether they were intact).
    Complete(u64, bool),
    /// Failed (the proxy gave up on it) after this many bytes.
    Failed(u64),
}

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET /v2/`.
    pub method: String,
    /// The request target.
    pub uri: String,
    /// The headers.
    pub headers: HeaderMap,
    /// How its body ended.
    pub body: BodyEnd,
}

impl Seen {
    /// Every value of header `name`, as strings.
    pub fn header(&self, name: &str) -> Vec<String> {
        self.headers.get_all(name).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }
}

/// A running upstream on 127.0.0.1 (in the current tokio runtime).
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    /// Starts serving with `behaviour`.
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let recorded = recorded.clone();
                let service =
                    hyper::service::service_fn(move |request| answer(request, behaviour, recorded.clone()));
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service),
                );
            }
        });
        Self { addr, seen, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The only request so far.
    pub fn only(&self) -> Seen {
        let seen = self.seen();
        assert_eq!(seen.len(), 1, "expected one request upstream, got {seen:?}");
        seen.into_iter().next().unwrap()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    request: Request<Incoming>,
    behaviour: Behaviour,
    recorded: Arc<Mutex<Vec<Seen>>>,
) -> Result<Response<TestBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let index = {
        let mut seen = recorded.lock().unwrap();
        seen.push(Seen {
            method: parts.method.to_string(),
            uri: parts.uri.to_string(),
            headers: parts.headers.clone(),
            body: BodyEnd::Open,
        });
        seen.len() - 1
    };
    match behaviour {
        Behaviour::Hang => std::future::pending().await,
        Behaviour::Download(len) => {
            drop(body);
            Ok(Response::new(Generated::boxed(len)))
        }
        Behaviour::Echo { api_version } => {
            let end = match check_body(body).await {
                Ok(check) => BodyEnd::Complete(check.len, check.intact),
                Err(check) => BodyEnd::Failed(check.len),
            };
            recorded.lock().unwrap()[index].body = end;
            let text = match end {
                BodyEnd::Complete(len, intact) => format!("{{\"len\":{len},\"intact\":{intact}}}"),
                _ => "{}".to_owned(),
            };
            let mut response =
                Response::builder().status(StatusCode::CREATED).header("content-type", "application/json");
            if api_version {
                response = response.header("docker-distribution-api-version", "registry/2.0");
            }
            let body =
                http_body_util::Full::new(hyper::body::Bytes::from(text)).map_err(|never| match never {});
            Ok(response.body(BodyExt::boxed(body)).unwrap())
        }
    }
}

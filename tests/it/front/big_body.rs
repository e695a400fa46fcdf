//! A multi-GiB body streamed up and down through the TLS front end in bounded memory. The
//! client, regent and the upstream all run in this process, so its RSS bounds all three.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hyper::Method;
use regent::config::FrontConfig;

use super::bodies::{Generated, PatternCheck, check_body, empty, rss_bytes};
use super::client::{self, H2, HTTP11, json};
use super::pki::TestCerts;
use super::server::{FrontServer, ListenerSpec};
use super::upstream::{Behaviour, BodyEnd, Upstream};
use crate::env::TestEnv;

/// How much goes each way.
const BODY: u64 = 4 << 30;
/// The loose cap on how much the process's RSS may grow while the bodies stream (the tight goal
/// is for the benchmark, with regent alone in its process). Growth, not the absolute RSS: the
/// other tests of this binary run in the same process at the same time.
const RSS_GROWTH_CAP: u64 = 512 << 20;

/// Samples the RSS every 50 ms until dropped; keeps the peak.
struct RssSampler {
    peak: Arc<AtomicU64>,
    running: Arc<AtomicBool>,
}

impl RssSampler {
    fn start() -> Self {
        let (peak, running) = (Arc::new(AtomicU64::new(rss_bytes())), Arc::new(AtomicBool::new(true)));
        let (p, r) = (peak.clone(), running.clone());
        std::thread::spawn(move || {
            while r.load(Ordering::Relaxed) {
                p.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Self { peak, running }
    }

    fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed).max(rss_bytes())
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_gib_up_and_down_in_bounded_memory() {
    let certs = TestCerts::new();
    let env = TestEnv::new("https://127.0.0.1:1/token");
    let echo = Upstream::start(Behaviour::Echo { api_version: true }).await;
    let download = Upstream::start(Behaviour::Download(BODY)).await;
    let server = FrontServer::start(
        &env,
        vec![
            ListenerSpec::new(Some(certs.tls.clone()), Some(echo.url())),
            ListenerSpec::new(Some(certs.tls.clone()), Some(download.url())),
        ],
        FrontConfig::default(),
    );
    let sampler = RssSampler::start();
    let before = rss_bytes();

    // Up: HTTP/1.1, chunked (no length), as docker sends a layer.
    let started = Instant::now();
    let mut up =
        client::connect(server.addrs[0], "127.0.0.1", client::config(&certs.pki.ca_pem, HTTP11)).await;
    let response =
        up.send(Method::PATCH, "/v2/big/blobs/uploads/u1", &[], Generated::boxed(BODY)).await.unwrap();
    assert_eq!(response.status(), 201);
    let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    assert_eq!(json(&body), serde_json::json!({"len": BODY, "intact": true}));
    assert_eq!(echo.only().body, BodyEnd::Complete(BODY, true));
    let up_time = started.elapsed();

    // Down: HTTP/2.
    let started = Instant::now();
    let mut down = client::connect(server.addrs[1], "127.0.0.1", client::config(&certs.pki.ca_pem, H2)).await;
    let response = down.send(Method::GET, "/v2/big/blobs/sha256:x", &[], empty()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(check_body(response.into_body()).await.unwrap(), PatternCheck { len: BODY, intact: true });
    let down_time = started.elapsed();

    let peak = sampler.peak();
    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    eprintln!(
        "4 GiB up in {up_time:.1?} ({:.0} MiB/s), down in {down_time:.1?} ({:.0} MiB/s); RSS before {:.0} MiB, peak {:.0} MiB",
        mib(BODY) / up_time.as_secs_f64(),
        mib(BODY) / down_time.as_secs_f64(),
        mib(before),
        mib(peak),
    );
    let growth = peak.saturating_sub(before);
    assert!(
        growth < RSS_GROWTH_CAP,
        "RSS grew by {:.0} MiB, over the {:.0} MiB cap",
        mib(growth),
        mib(RSS_GROWTH_CAP)
    );
}

//! Token throughput of regent replicas behind Debian's HAProxy, against the real binary.
//!
//! Starts three `regent serve` processes sharing one data directory made by `init` (an
//! htpasswd user at bcrypt cost 10, the identity cache warm), and HAProxy twice with the
//! configuration the replica tests use (round robin, `/readyz` checks, retries): once in front
//! of one replica and once in front of all three. Prints tokens per second and p50/p99 at
//! concurrency 64 for one replica direct, one behind HAProxy and three behind HAProxy, on
//! keep-alive connections. Run with `cargo bench --bench replica_bench`.
//!
//! Every process (the load generator, HAProxy, the replicas) shares this machine's cores, so
//! three replicas on one machine measure the balancer's overhead and the cost of spreading,
//! not the capacity of three machines.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it runs a short smoke pass with the
//! same code, so the benchmark cannot rot; its numbers mean nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a benchmark program: failing loudly is right

#[path = "../../tests/it/fixtures/haproxy/config.rs"]
mod haproxy_config;
#[path = "../common/load.rs"]
#[allow(dead_code)] // the in-process server and the burst are the other benchmarks'
mod load;
mod procs;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::authn::htpasswd::set_password;
use regent::clock::{Clock, SystemClock};
use regent::init::{InitOptions, init};
use regent::policy::examples::EXAMPLE_POLICIES;
use regent::secret::Secret;

use load::{drive, print_rows};
use procs::{free_addr, haproxy, regent};

/// Concurrent clients.
const CONCURRENCY: usize = 64;
/// What every request asks for (alice's own namespace).
const SCOPE: &str = "repository:alice/app:pull,push";

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let total = if full { 20_000 } else { 2 * CONCURRENCY };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    let opts = InitOptions { dir: root.clone(), ..InitOptions::default() };
    let report = init(&opts, EXAMPLE_POLICIES, SystemClock.now()).expect("init");
    set_password(&root.join("htpasswd"), "alice", &Secret::new("alice-pw"), 10).expect("passwd");
    let config = root.join("regent.toml");
    // One file for every replica: init's [[listen]] (its last table) goes, each replica gets
    // its own --listen address.
    let text = std::fs::read_to_string(&config).expect("read regent.toml");
    let at = text.find("\n[[listen]]\n").expect("init writes a [[listen]]");
    std::fs::write(&config, &text[..at + 1]).expect("write regent.toml");

    let addrs: Vec<_> = (0..3).map(|_| free_addr()).collect();
    let _replicas: Vec<_> = addrs.iter().map(|addr| regent(&config, *addr)).collect();
    let (one, three) = (free_addr(), free_addr());
    let _haproxy_one = haproxy(dir.path(), one, &addrs[..1]);
    let _haproxy_three = haproxy(dir.path(), three, &addrs);

    let service = report.service;
    let auth = [format!("Basic {}", STANDARD.encode("alice:alice-pw"))];
    // Warm every replica's identity cache (the round robin reaches each within three requests).
    let warm: Vec<String> = (0..3).map(|_| auth[0].clone()).collect();
    let scenarios = [
        ("1 replica, direct", addrs[0]),
        ("1 replica behind HAProxy", one),
        ("3 replicas behind HAProxy", three),
    ];
    let rows: Vec<_> = scenarios
        .iter()
        .map(|(name, addr)| {
            let url = format!("http://{addr}/token?service={service}&scope={SCOPE}");
            drive(&url, &auth, &warm, CONCURRENCY, total, &format!("{name}, c={CONCURRENCY}"))
        })
        .collect();
    print_rows(&rows);
    let direct = rows[0].per_second;
    for row in &rows[1..] {
        println!("{}: {:.0}% of one replica direct", row.name, 100.0 * row.per_second / direct);
    }
    println!(
        "\n(htpasswd user at bcrypt cost 10, warm identity cache; {} cores shared by the load \
         generator, HAProxy and the replicas)",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
}

//! The TLS front end against the seeds' nginx, on one machine in one run.
//!
//! Pushes and pulls one blob (1 GiB with `cargo bench --bench proxy_bench`) to Debian's
//! `docker-registry` three ways: directly (plain HTTP), through Debian's nginx configured as the
//! seeds do (TLS, `client_max_body_size 0`, `proxy_request_buffering off`, `proxy_buffering off`)
//! and through regent's TLS front end, with the same certificate and the same registry. Prints
//! MB/s for each and the peak RSS (VmHWM) of both proxies. Under `cargo test --all-targets` it
//! runs the same code on 16 MiB as a smoke pass.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a benchmark program: failing loudly is right

mod support;

use std::time::Instant;

use support::{Nginx, Regent, Registry, Target, TestPki, blob_digest, peak_rss_kib, pull, push};

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let size: u64 = if full { 1 << 30 } else { 16 << 20 };
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = TestPki::write(dir.path());
    let registry = Registry::start(dir.path());
    let nginx = Nginx::start(dir.path(), &pki, registry.port);
    let regent = Regent::start(dir.path(), &pki, registry.port);
    let digest = blob_digest(size);

    let targets = [
        ("direct (plain HTTP)", Target::plain(registry.port), None),
        ("nginx 1.22 (TLS)", Target::tls(nginx.port, &pki), Some(nginx.worker_pid())),
        ("regent front end (TLS)", Target::tls(regent.port, &pki), Some(regent.pid())),
    ];
    println!();
    println!("| path | push MB/s | pull MB/s | proxy peak RSS |");
    println!("| --- | ---: | ---: | ---: |");
    for (i, (name, target, pid)) in targets.iter().enumerate() {
        let repo = format!("bench/r{i}");
        let started = Instant::now();
        push(target, &repo, size, &digest);
        let push_rate = size as f64 / started.elapsed().as_secs_f64() / 1e6;
        let started = Instant::now();
        let received = pull(target, &repo, &digest);
        let pull_rate = size as f64 / started.elapsed().as_secs_f64() / 1e6;
        assert_eq!(received, size, "{name}: pulled a different size");
        let rss = pid.map_or("-".to_owned(), |pid| format!("{:.1} MiB", peak_rss_kib(pid) as f64 / 1024.0));
        println!("| {name} | {push_rate:.0} | {pull_rate:.0} | {rss} |");
    }
    println!("\n(blob {} MiB; each path pushes to its own repository, then pulls it back)", size >> 20);
}

//! Fault injection under load, the soak and idle connections vs memory, in full: the programs of
//! tests/it/faults/ (included with `#[path]`; `cargo test --test it faults` runs them reduced)
//! against `regent serve`, slapd and registry 2.8 on loopback.
//!
//! `cargo bench --bench fault_bench` runs the faults (10 s outages), a 30-minute soak
//! (`FAULT_BENCH_SOAK_SECS` overrides its length) and 0 / 1k / 10k idle connections, and prints
//! the tables. Under `cargo test --all-targets` (no `--bench`) it only says where the reduced
//! runs are: they need root (a tmpfs) and take a minute, which the `it` tests already spend.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a benchmark program: failing loudly is right

#[path = "../../tests/it/env.rs"]
#[allow(dead_code)] // the in-process server is the tests'
mod env;
/// The programs of tests/it/faults/ (its `mod.rs` would also bring the reduced tests).
#[allow(dead_code)]
#[path = "../../tests/it/faults"]
mod faults {
    pub mod idle;
    pub mod load;
    pub mod report;
    pub mod scenario;
    pub mod soak;
    pub mod stack;
}
#[path = "../../tests/it/fixtures/mod.rs"]
mod fixtures;

use std::time::Duration;

use faults::scenario::{Plan, run};
use faults::{idle, report, soak};

/// Load workers.
const CONCURRENCY: usize = 64;
/// The soak's length unless `FAULT_BENCH_SOAK_SECS` says otherwise.
const SOAK: Duration = Duration::from_secs(30 * 60);

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        println!(
            "fault_bench: run `cargo bench --bench fault_bench`; `cargo test --test it faults` runs it reduced"
        );
        return;
    }
    let soak_length = std::env::var("FAULT_BENCH_SOAK_SECS")
        .ok()
        .map_or(SOAK, |secs| Duration::from_secs(secs.parse().expect("FAULT_BENCH_SOAK_SECS: seconds")));
    let only = std::env::var("FAULT_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "faults" {
        let plan = Plan::scaled(10, CONCURRENCY);
        let findings = run(plan);
        report::print(&findings);
    }
    if only.is_empty() || only == "idle" {
        idle::print(&idle::run(&[0, 1000, 10_000]));
    }
    if only.is_empty() || only == "soak" {
        let soak = soak::run(soak_length, Duration::from_secs(30), CONCURRENCY);
        soak.print(&format!("{} s (bench)", soak_length.as_secs()));
    }
    println!(
        "\n({} cores shared by the load generator, regent, slapd and the registry; c={CONCURRENCY})",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
}

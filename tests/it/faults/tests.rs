//! The reduced runs (the full ones are `cargo bench --bench fault_bench`); generous bounds only.

use std::time::Duration;

use super::scenario::{Plan, run};
use super::{idle, report, soak};

/// Load workers, as the issue asks.
const CONCURRENCY: usize = 64;

#[test]
fn faults_under_load_lose_no_user_and_regent_keeps_serving() {
    let plan = Plan::scaled(2, CONCURRENCY);
    let findings = run(plan);
    report::print(&findings);
    // `run` already failed unless regent stayed alive without a panic and every fault recovered.
    assert!(findings.lost_entries.is_empty(), "htpasswd entries lost: {:?}", findings.lost_entries);
    assert!(!findings.full_disk_error.is_empty(), "regent passwd on a full disk said nothing");
    let baseline = &findings.phases[0];
    assert!(
        report::counts(baseline, &findings.samples).values().flat_map(|by| by.values()).sum::<usize>() > 0
    );
    assert_eq!(report::failures(baseline, &findings.samples), 0, "failures before any fault");
    // Every phase saw load, and the faults of the proxied upstream show as failed proxied requests.
    for phase in &findings.phases {
        let counts = report::counts(phase, &findings.samples);
        assert!(counts.values().flat_map(|by| by.values()).sum::<usize>() > 0, "{}: no requests", phase.name);
    }
    let killed = findings.phases.iter().find(|p| p.name.starts_with("registry killed")).expect("phase");
    assert!(report::failures(killed, &findings.samples) > 0, "a killed registry caused no failed request");
}

#[test]
fn one_minute_soak_keeps_rss_flat() {
    let soak = soak::run(Duration::from_secs(60), Duration::from_secs(10), CONCURRENCY);
    soak.print("1 min (test)");
    assert!(soak.ok > 1000, "only {} requests succeeded in a minute", soak.ok);
    assert!(
        soak.last_rss() <= 2 * soak.warm_rss(),
        "RSS grew from {} KiB after warm-up to {} KiB: {:?}",
        soak.warm_rss(),
        soak.last_rss(),
        soak.rss_kib
    );
}

#[test]
fn a_thousand_idle_connections_cost_little_and_tokens_still_flow() {
    let rows = idle::run(&[0, 1000]);
    idle::print(&rows);
    let growth = rows[1].rss_kib.saturating_sub(rows[0].rss_kib);
    assert!(growth < 256 * 1024, "1000 idle connections took {growth} KiB");
    assert!(rows[1].token_latency < Duration::from_secs(5), "a token took {:?}", rows[1].token_latency);
}

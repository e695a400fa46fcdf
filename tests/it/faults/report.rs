//! The tables a fault run prints: requests by status per phase and kind, and the recovery time
//! after each fault.

use std::collections::BTreeMap;

use super::load::{CONNECTION_ERROR, Kind, Sample, TIMED_OUT};
use super::scenario::{Findings, Phase};

/// A status as the tables name it.
fn status_name(status: u16) -> String {
    match status {
        CONNECTION_ERROR => "conn-error".to_owned(),
        TIMED_OUT => "timeout".to_owned(),
        other => other.to_string(),
    }
}

/// Requests of each kind by status in `phase` (answered from its start to its end).
pub fn counts(phase: &Phase, samples: &[Sample]) -> BTreeMap<Kind, BTreeMap<u16, usize>> {
    let mut counts: BTreeMap<Kind, BTreeMap<u16, usize>> = BTreeMap::new();
    for sample in samples.iter().filter(|s| s.done >= phase.start && s.done < phase.end) {
        *counts.entry(sample.kind).or_default().entry(sample.status).or_default() += 1;
    }
    counts
}

/// Requests of any kind in `phase` answered otherwise than 200.
pub fn failures(phase: &Phase, samples: &[Sample]) -> usize {
    counts(phase, samples)
        .values()
        .flat_map(|by| by.iter())
        .filter(|(status, _)| **status != 200)
        .map(|(_, n)| n)
        .sum()
}

/// Prints the Markdown tables of `findings`.
pub fn print(findings: &Findings) {
    println!(
        "\n| phase | requests | by status (token htpasswd / token LDAP / proxied /v2/) | recovery after repair |"
    );
    println!("| --- | ---: | --- | ---: |");
    for phase in &findings.phases {
        let counts = counts(phase, &findings.samples);
        let total: usize = counts.values().flat_map(|by| by.values()).sum();
        let cells: Vec<String> = [Kind::Htpasswd, Kind::Ldap, Kind::Proxied]
            .iter()
            .map(|kind| {
                let by = counts.get(kind).cloned().unwrap_or_default();
                let parts: Vec<String> =
                    by.iter().map(|(status, n)| format!("{} {n}", status_name(*status))).collect();
                if parts.is_empty() { "-".to_owned() } else { parts.join(", ") }
            })
            .collect();
        let recovery = if phase.name == "baseline" {
            "-".to_owned()
        } else {
            format!("{:.2} s ({})", phase.recovery.as_secs_f64(), phase.probe.name())
        };
        println!("| {} | {total} | {} | {recovery} |", phase.name, cells.join(" / "));
    }
    println!("\nlost htpasswd entries: {} {:?}", findings.lost_entries.len(), findings.lost_entries);
    println!("regent passwd on the full disk said: {}", findings.full_disk_error);
    println!("regent's WARN/ERROR messages (each once):");
    for line in &findings.log_warnings {
        println!("  {line}");
    }
    println!("regent RSS at the end: {} KiB; regent alive, no panic in its log", findings.rss_kib);
}

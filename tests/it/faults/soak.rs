//! The soak: steady token load on regent with its RSS sampled from /proc/PID/status every second.

use std::time::{Duration, Instant};

use super::load::Load;
use super::stack::{Stack, StackOptions};

/// What a soak measured.
pub struct Soak {
    /// RSS in KiB, one sample a second from the start of the load.
    pub rss_kib: Vec<u64>,
    /// Index of the sample taken when warm-up ended.
    pub warm: usize,
    /// Requests answered 200.
    pub ok: usize,
    /// Requests answered otherwise (or not at all).
    pub failed: usize,
    /// How long the load ran.
    pub elapsed: Duration,
}

impl Soak {
    /// RSS after warm-up.
    pub fn warm_rss(&self) -> u64 {
        self.rss_kib[self.warm]
    }

    /// RSS of the last sample.
    pub fn last_rss(&self) -> u64 {
        *self.rss_kib.last().expect("at least one sample")
    }

    /// Prints the soak's row and RSS at a few points.
    pub fn print(&self, label: &str) {
        let max = self.rss_kib.iter().max().copied().unwrap_or_default();
        println!(
            "\n| soak | duration | requests ok / failed | ok per second | RSS after warm-up | RSS max | RSS end |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        println!(
            "| {label} | {:.0} s | {} / {} | {:.0} | {} KiB | {max} KiB | {} KiB |",
            self.elapsed.as_secs_f64(),
            self.ok,
            self.failed,
            self.ok as f64 / self.elapsed.as_secs_f64(),
            self.warm_rss(),
            self.last_rss()
        );
        let step = (self.rss_kib.len() / 10).max(1);
        let points: Vec<String> =
            self.rss_kib.iter().enumerate().step_by(step).map(|(s, kib)| format!("{s}s:{kib}")).collect();
        println!("RSS KiB by second: {}", points.join(" "));
    }
}

/// Runs load at `concurrency` for `duration` on a fresh stack, RSS sampled every second; the
/// sample at `warm_up` is the reference. Panics when regent exits or panics.
pub fn run(duration: Duration, warm_up: Duration, concurrency: usize) -> Soak {
    let mut stack = Stack::start(StackOptions::default());
    let load = Load::start(stack.addr, concurrency);
    let started = Instant::now();
    let mut rss_kib = vec![stack.rss_kib()];
    let mut warm = 0;
    while started.elapsed() < duration {
        let next = Duration::from_secs(started.elapsed().as_secs() + 1);
        std::thread::sleep(next.saturating_sub(started.elapsed()));
        rss_kib.push(stack.rss_kib());
        if started.elapsed() < warm_up + Duration::from_millis(500) {
            warm = rss_kib.len() - 1;
        }
    }
    let samples = load.stop();
    let elapsed = started.elapsed();
    stack.assert_regent_healthy();
    let ok = samples.iter().filter(|s| s.status == 200).count();
    Soak { rss_kib, warm, ok, failed: samples.len() - ok, elapsed }
}

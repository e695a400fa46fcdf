//! Fault injection under load, the soak and idle connections vs memory, against `regent serve`
//! as a child process with real slapd and registry 2.8 ([`stack`]). The programs are shared with
//! `cargo bench --bench fault_bench` (which includes this module with `#[path]` and runs them in
//! full); the tests here run them reduced:
//!
//! - [`scenario`]: token and proxied load at concurrency 64 while slapd is killed and restarted,
//!   the registry killed/restarted and SIGSTOPped, policy and htpasswd files broken and repaired,
//!   30 `regent passwd` run at once and the htpasswd disk (a tmpfs) full; requests by status per
//!   phase ([`report`]), recovery after each repair, lost htpasswd entries (none), regent alive
//!   with no panic in its log.
//! - [`soak`]: steady load with regent's RSS sampled every second.
//! - [`idle`]: regent's RSS with idle keep-alive connections held open.

pub mod idle;
pub mod load;
pub mod report;
pub mod scenario;
pub mod soak;
pub mod stack;

#[cfg(test)]
mod tests;

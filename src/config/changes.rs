//! What differs between the running configuration and a new version of `regent.toml`: the
//! fields only a restart applies (sockets bound at start) and the sections that changed.

use std::fmt;
use std::net::SocketAddr;

use super::Config;

/// A changed field that only takes effect after a restart; the running value stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartNeeded {
    /// The field, as written in `regent.toml` (e.g. `[[listen]] address`).
    pub field: String,
    /// The value being served.
    pub running: String,
    /// The value in the file.
    pub configured: String,
}

impl fmt::Display for RestartNeeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} changed from {} to {}: restart regent to apply it; {} keeps serving until then",
            self.field, self.running, self.configured, self.running
        )
    }
}

impl Config {
    /// The fields in which `new` differs from `self` (the running configuration) that a
    /// running server cannot apply: the `[[listen]]` addresses, whether a listener speaks TLS,
    /// and the `[metrics] address`.
    pub fn restart_needed(&self, new: &Config) -> Vec<RestartNeeded> {
        let mut needed = Vec::new();
        let (running, configured) = (addresses(self), addresses(new));
        if sorted(&running) != sorted(&configured) {
            needed.push(RestartNeeded {
                field: "[[listen]] address".into(),
                running: list(&running),
                configured: list(&configured),
            });
        }
        for listen in &self.listen {
            let Some(other) = new.listen.iter().find(|other| other.address == listen.address) else {
                continue;
            };
            if listen.tls.is_some() != other.tls.is_some() {
                let tls = |on: bool| if on { "TLS" } else { "plain HTTP" }.to_owned();
                needed.push(RestartNeeded {
                    field: format!("[[listen]] {} [listen.tls]", listen.address),
                    running: tls(listen.tls.is_some()),
                    configured: tls(other.tls.is_some()),
                });
            }
        }
        if self.metrics.address != new.metrics.address {
            let address = |address: Option<SocketAddr>| address.map_or("none".into(), |a| a.to_string());
            needed.push(RestartNeeded {
                field: "[metrics] address".into(),
                running: address(self.metrics.address),
                configured: address(new.metrics.address),
            });
        }
        needed
    }

    /// What a running server applies of `new`: `new`, except that the listeners are the
    /// running ones (each with its new settings when the file still has its address, its TLS
    /// staying on or off) and the `[metrics] address` stays.
    pub fn applicable(&self, mut new: Config) -> Config {
        new.listen = self
            .listen
            .iter()
            .map(|listen| match new.listen.iter().find(|other| other.address == listen.address) {
                Some(other) if other.tls.is_some() == listen.tls.is_some() => other.clone(),
                Some(other) => super::ListenConfig { tls: listen.tls.clone(), ..other.clone() },
                None => listen.clone(),
            })
            .collect();
        new.metrics = self.metrics;
        new
    }

    /// The sections in which `new` differs from `self`, as written in `regent.toml`.
    pub fn changed_sections(&self, new: &Config) -> Vec<&'static str> {
        let token = (self.token != new.token) || (self.refresh != new.refresh);
        let sections = [
            (token, "[token]"),
            (self.authn != new.authn, "[[authn]]"),
            (self.policy != new.policy, "[policy]"),
            (self.listen != new.listen, "[[listen]]"),
            (self.front != new.front, "[front]"),
            (self.limits != new.limits, "[limits]"),
            (self.metrics != new.metrics, "[metrics]"),
            (self.lockout != new.lockout, "[lockout]"),
        ];
        sections.into_iter().filter_map(|(changed, name)| changed.then_some(name)).collect()
    }
}

fn addresses(config: &Config) -> Vec<SocketAddr> {
    config.listen.iter().map(|listen| listen.address).collect()
}

fn sorted(addresses: &[SocketAddr]) -> Vec<SocketAddr> {
    let mut sorted = addresses.to_vec();
    sorted.sort();
    sorted
}

fn list(addresses: &[SocketAddr]) -> String {
    if addresses.is_empty() {
        return "none".into();
    }
    addresses.iter().map(SocketAddr::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
#[path = "changes_tests.rs"]
mod tests;

//! Token requests with LDAP authentication, against a real slapd and the real server.
//!
//! Starts Debian's slapd with a service account and 64 users in the group `developers`, and
//! regent in-process with an `[[authn]]` LDAP backend (search mode, groups from `memberOf`,
//! `pool_size = 4`) written into the `regent.toml` that `init` made. Prints token requests per
//! second and p50/p99 over loopback HTTP at concurrency 1 and 32, with a warm identity cache
//! and a cold one (`cache_ttl = "0s"`: every request searches and binds), and the LDAP
//! connections slapd accepted (its `stats` log) for 1,000 token requests, against the goal of
//! at most the pool size plus one bind connection per cache miss. Run with
//! `cargo bench --bench ldap_bench`; under `cargo test --all-targets` (no `--bench`) the same
//! code runs as a short smoke pass whose numbers mean nothing (the goal is still checked).

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a benchmark program: failing loudly is right

#[path = "../common/load.rs"]
mod load;
mod slapd;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use load::{drive, print_rows, start_server};
use regent::clock::{Clock, SystemClock};
use regent::config::{BackendConfig, Config};
use regent::init::{InitOptions, init};
use regent::policy::examples::EXAMPLE_POLICIES;
use slapd::Slapd;

/// The LDAP backend's service-account pool.
const POOL_SIZE: usize = 4;
/// Directory users the requests rotate over.
const USERS: usize = 64;
/// What every request asks for (40-teams.toml grants push to group:developers).
const SCOPE: &str = "repository:team/app:pull,push";

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let scale = |n: usize| if full { n } else { (n / 50).max(4) };
    let dir = tempfile::tempdir().expect("tempdir");
    let slapd = Slapd::start(&dir.path().join("slapd"), USERS);
    let config = regent_config(&dir.path().join("regent"), &slapd);
    let auths: Vec<String> = (0..USERS)
        .map(|index| {
            let (user, password) = slapd::user(index);
            format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
        })
        .collect();

    let mut rows = Vec::new();
    for (label, cache_ttl) in [("warm cache", Duration::from_secs(300)), ("cold cache", Duration::ZERO)] {
        let server = start_server(with_cache_ttl(&config, cache_ttl), SCOPE);
        let cold = cache_ttl.is_zero();
        // Warm: every user logs in once first, so the timed requests are all cache hits.
        let warm_up = if cold { &auths[..1] } else { &auths[..] };
        for concurrency in [1usize, 32] {
            let total = scale(match (cold, concurrency) {
                (true, 1) => 1_000,
                (true, _) => 3_000,
                (false, 1) => 3_000,
                (false, _) => 20_000,
            });
            let name = format!("LDAP, {label}, c={concurrency}");
            rows.push(drive(&server.0, &auths, warm_up, concurrency, total, &name));
        }
    }

    let counted = scale(1_000);
    let mut counts = Vec::new();
    for (label, cache_ttl) in [("cold cache", Duration::ZERO), ("warm cache", Duration::from_secs(300))] {
        // A fresh server: its pool starts empty and its cache knows nobody.
        let server = start_server(with_cache_ttl(&config, cache_ttl), SCOPE);
        let (connections, binds) = (slapd.connections(), slapd.user_binds());
        drive(&server.0, &auths, &[], 32, counted, "count");
        let opened = slapd.connections() - connections;
        let misses = slapd.user_binds() - binds;
        counts.push((label, opened, misses));
    }

    print_rows(&rows);
    println!();
    println!(
        "| {counted} token requests, c=32, fresh server | LDAP connections (slapd ACCEPT) | user binds (cache misses) | goal: pool {POOL_SIZE} + misses |"
    );
    println!("| --- | ---: | ---: | ---: |");
    for (label, opened, misses) in &counts {
        let goal = POOL_SIZE + misses;
        let verdict = if *opened <= goal { "met" } else { "MISSED" };
        println!("| {label} | {opened} | {misses} | <= {goal} ({verdict}) |");
    }
    for (label, opened, misses) in counts {
        assert!(opened <= POOL_SIZE + misses, "{label}: {opened} connections for {misses} cache misses");
    }
}

/// `init` into `root`, then an `[[authn]]` LDAP backend for `slapd` written into regent.toml
/// before the htpasswd one, and the file loaded with the real parser.
fn regent_config(root: &std::path::Path, slapd: &Slapd) -> Config {
    let opts = InitOptions { dir: root.to_owned(), ..InitOptions::default() };
    init(&opts, EXAMPLE_POLICIES, SystemClock.now()).expect("init");
    std::fs::write(root.join("ldap-password"), slapd::SERVICE_PASSWORD).expect("write ldap-password");
    let path = root.join("regent.toml");
    let text = std::fs::read_to_string(&path).expect("read regent.toml");
    let ldap = format!(
        "[[authn]]\nname = \"corp\"\nkind = \"ldap\"\nurl = \"{url}\"\nbind_dn = \"{bind_dn}\"\n\
         bind_password_file = \"ldap-password\"\nbase = \"{base}\"\n\
         filter = \"(&(objectClass=inetOrgPerson)(uid=${{user}}))\"\nlogin_attribute = \"uid\"\n\
         group_attribute = \"memberOf\"\npool_size = {POOL_SIZE}\ncache_ttl = \"60s\"\n\n",
        url = slapd.url(),
        bind_dn = slapd::SERVICE_DN,
        base = slapd::PEOPLE,
    );
    let at = text.find("\n[[authn]]\n").expect("init's [[authn]]") + 1;
    std::fs::write(&path, format!("{}{ldap}{}", &text[..at], &text[at..])).expect("write regent.toml");
    Config::load(&path).expect("regent.toml with LDAP loads")
}

/// `config` with the LDAP backend's cache TTL set to `ttl`.
fn with_cache_ttl(config: &Config, ttl: Duration) -> Config {
    let mut config = config.clone();
    let mut found = false;
    for authn in &mut config.authn {
        if let BackendConfig::Ldap { config } = &mut authn.backend {
            config.cache_ttl = ttl;
            found = true;
        }
    }
    assert!(found, "no LDAP backend in the config");
    config
}

//! Token service throughput over loopback TCP, against the real server.
//!
//! Prints token requests per second and p50/p99 latency at concurrency 1 and 32 for an htpasswd
//! user (bcrypt cost 10) with a warm identity cache and with a cold one (cache off; the chain
//! still lets simultaneous requests with the same credentials share one bcrypt), and the
//! same for refresh grants (GET with Basic `":" + refresh token`, the user re-checked through the
//! chain's lookup cache) next to the warm password grant (also taking turns with it at c=1, one
//! request of each in turn, so that load from other processes falls on both alike), and the
//! signing ceilings in the same run: signatures per second with the pre-parsed key on as many
//! threads as the server has workers, for the served RS256 key and for ES256 and EdDSA keys.
//! Two chain scenarios follow: 64 simultaneous first logins of one htpasswd user (a new user
//! per round; max and p99 latency show a cache stampede), and
//! LDAP users behind `init`'s htpasswd backend with warm caches (tokens/s; needs Debian's slapd).
//! Access-token logins (every cache off) sit next to the warm htpasswd rows.
//! OIDC logins (an RS256 workload JWT as the password, no cache) sit next to htpasswd's rows.
//! Run with `cargo bench --bench token_bench`.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it runs a short smoke pass with the
//! same code, so the benchmark cannot rot; its numbers mean nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark program: failing loudly is right

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
mod chain;
#[path = "../common/load.rs"]
mod load;
mod oidc;
#[path = "../../tests/it/fixtures/oidc_issuer.rs"]
#[allow(dead_code, unreachable_pub)] // the tests' OIDC issuer; only part of it is used here
mod oidc_issuer;
#[path = "../ldap_bench/slapd.rs"]
#[allow(dead_code, unreachable_pub)] // the LDAP benchmark's slapd helper; only part of it is used here
mod slapd;
mod tokens;

use load::{SERVER_WORKERS, Turn, drive, drive_interleaved, get_json, print_rows, start_server};
use regent::authn::htpasswd::set_password;
use regent::clock::{Clock, SystemClock};
use regent::config::{BackendConfig, Config};
use regent::init::{InitOptions, init};
use regent::policy::examples::EXAMPLE_POLICIES;
use regent::secret::Secret;
use regent::token::{KeyType, SigningKey, generate_key};

/// The interleaved c=1 rows: a warm password grant and a refresh grant in turn.
const INTERLEAVED_PASSWORD: &str = "htpasswd, warm cache, c=1, interleaved";
/// See [`INTERLEAVED_PASSWORD`].
const INTERLEAVED_REFRESH: &str = "refresh grant, warm cache, c=1, interleaved";

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let scale = |n: usize| if full { n } else { (n / 50).max(4) };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    let opts = InitOptions { dir: root.clone(), ..InitOptions::default() };
    let report = init(&opts, EXAMPLE_POLICIES, SystemClock.now()).expect("init");
    let config = Config::load(&root.join("regent.toml")).expect("config");
    set_password(&root.join("htpasswd"), "alice", &Secret::new("alice-pw"), 10).expect("passwd");
    let signing = SigningKey::load(&report.key, &report.certificate).expect("key");

    let auth = [format!("Basic {}", STANDARD.encode("alice:alice-pw"))];
    let mut rows = Vec::new();
    for (label, cache_ttl) in [("warm cache", WARM_CACHE), ("cold cache", Duration::ZERO)] {
        let config = with_htpasswd_cache(config.clone(), cache_ttl);
        let server = start_server(config, "repository:alice/app:pull,push");
        let cold = cache_ttl.is_zero();
        for concurrency in [1usize, 32] {
            let total = scale(match (cold, concurrency) {
                (true, 1) => 30,
                (true, _) => 96,
                (false, 1) => 3_000,
                (false, _) => 20_000,
            });
            let name = format!("htpasswd, {label}, c={concurrency}");
            // One request first warms the cache (when on) and the connection pool.
            let row = drive(&server.0, &auth, &auth, concurrency, total, &name);
            rows.push(row);
        }
        if !cold {
            let login = get_json(&format!("{}&offline_token=true", server.0), &auth[0]);
            let token = login["refresh_token"].as_str().expect("a refresh token");
            let refresh = [format!("Basic {}", STANDARD.encode(format!(":{token}")))];
            for concurrency in [1usize, 32] {
                let total = scale(if concurrency == 1 { 3_000 } else { 20_000 });
                let name = format!("refresh grant, {label}, c={concurrency}");
                rows.push(drive(&server.0, &refresh, &refresh, concurrency, total, &name));
            }
            let (password, refresh) = drive_interleaved(
                Turn { name: INTERLEAVED_PASSWORD, url: &server.0, auth: &auth[0] },
                Turn { name: INTERLEAVED_REFRESH, url: &server.0, auth: &refresh[0] },
                scale(3_000),
            );
            rows.extend([password, refresh]);
        }
        drop(server);
    }
    rows.extend(tokens::access_token_rows(&config, &root, "alice-pw", scale));
    rows.extend(oidc::oidc_logins(&root, |concurrency| scale(if concurrency == 1 { 3_000 } else { 20_000 })));
    let htpasswd = root.join("htpasswd");
    rows.push(chain::first_login_burst(&config, &htpasswd, if full { 5 } else { 1 }));
    let slapd_dir = dir.path().join("slapd");
    std::fs::create_dir_all(&slapd_dir).expect("mkdir slapd");
    rows.extend(chain::ldap_behind_htpasswd(&root, &slapd_dir, scale(500)));
    let ceiling_time = if full { Duration::from_secs(3) } else { Duration::from_millis(100) };
    let ceiling = signing_ceiling(&signing, SERVER_WORKERS, ceiling_time);
    // The other key types regent signs with, on the same threads: `init --key-type ec|ed25519`.
    let other_ceilings: Vec<(&str, f64)> = [KeyType::Ec, KeyType::Ed25519]
        .into_iter()
        .map(|key_type| {
            let generated = generate_key(key_type, "regent", SystemClock.now()).expect("generate a key");
            let key =
                SigningKey::from_pem(generated.key_pem.expose(), &generated.cert_pem, "bench").expect("key");
            (key.algorithm(), signing_ceiling(&key, SERVER_WORKERS, ceiling_time))
        })
        .collect();

    print_rows(&rows);
    for (algorithm, rate) in std::iter::once((signing.algorithm(), ceiling)).chain(other_ceilings) {
        println!("| signing ceiling ({SERVER_WORKERS} threads, {algorithm}) | - | {rate:.0} | - | - | - |");
    }
    let rate = |name: &str| rows.iter().find(|r| r.name == name).map(|r| r.per_second);
    for concurrency in [1, 32] {
        let password = rate(&format!("htpasswd, warm cache, c={concurrency}"));
        if let (Some(password), Some(refresh)) =
            (password, rate(&format!("refresh grant, warm cache, c={concurrency}")))
        {
            println!(
                "refresh grant at c={concurrency}: {:.0}% of the warm password grant",
                100.0 * refresh / password
            );
        }
        let token_name = format!("access token, no cache, c={concurrency}");
        let token = rows.iter().find(|r| r.name == token_name).map(|r| r.per_second);
        if let (Some(password), Some(token)) = (password, token) {
            println!(
                "access token (no cache) at c={concurrency}: {:.0}% of the warm password grant (target: >= 90%)",
                100.0 * token / password
            );
        }
    }
    if let (Some(password), Some(token)) =
        (rate(tokens::INTERLEAVED_PASSWORD), rate(tokens::INTERLEAVED_TOKEN))
    {
        let percent = 100.0 * token / password;
        println!(
            "access token (no cache) at c=1, interleaved: {percent:.0}% of the warm password grant (target: >= 90%)"
        );
    }
    if let (Some(password), Some(refresh)) = (rate(INTERLEAVED_PASSWORD), rate(INTERLEAVED_REFRESH)) {
        let percent = 100.0 * refresh / password;
        println!(
            "refresh grant at c=1, interleaved: {percent:.0}% of the warm password grant (target: >= 90%)"
        );
    }
    for r in rows.iter().filter(|r| r.name.starts_with("htpasswd, warm")) {
        println!("{}: {:.0}% of the signing ceiling", r.name, 100.0 * r.per_second / ceiling);
    }
}

/// How long the warm rows' htpasswd backend keeps a login (longer than any run).
const WARM_CACHE: Duration = Duration::from_secs(300);

/// `config` with every htpasswd backend's identity cache set to `ttl` (zero: off).
fn with_htpasswd_cache(mut config: Config, ttl: Duration) -> Config {
    for authn in &mut config.authn {
        if let BackendConfig::Htpasswd { cache_ttl, .. } = &mut authn.backend {
            *cache_ttl = ttl;
        }
    }
    config
}

/// Signatures per second over `threads` threads for `duration`.
fn signing_ceiling(key: &SigningKey, threads: usize, duration: Duration) -> f64 {
    let message = vec![b'x'; 700];
    let started = Instant::now();
    let count: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0usize;
                    while started.elapsed() < duration {
                        key.sign_raw(&message).expect("sign");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).sum()
    });
    count as f64 / started.elapsed().as_secs_f64()
}

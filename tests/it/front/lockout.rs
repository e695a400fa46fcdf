//! Brute-force protection behind a load balancer: from a trusted proxy the client is the
//! address it forwarded, so one client's guesses do not lock out the others behind it; from
//! an untrusted peer a forged `X-Forwarded-For` changes nothing.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::config::{FrontConfig, LockoutConfig};

use super::server::{FrontServer, ListenerSpec};
use crate::env::{SERVICE, TestEnv};
use crate::fixtures::http_get;

fn login(server: &FrontServer, listener: usize, password: &str, forwarded_for: &str) -> u16 {
    let auth = format!("Basic {}", STANDARD.encode(format!("alice:{password}")));
    let url = format!("http://{}/token?service={SERVICE}", server.addrs[listener]);
    http_get(&url, &[("Authorization", &auth), ("X-Forwarded-For", forwarded_for)]).status
}

#[test]
fn clients_behind_a_trusted_proxy_are_counted_apart() {
    let mut env = TestEnv::new("http://127.0.0.1:1/token");
    env.config.lockout = LockoutConfig {
        max_failures: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        ..LockoutConfig::default()
    };
    let mut behind_balancer = ListenerSpec::new(None, None);
    behind_balancer.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    let direct = ListenerSpec::new(None, None);
    let server = FrontServer::start(&env, vec![behind_balancer, direct], FrontConfig::default());
    for n in 0..3 {
        assert_eq!(login(&server, 0, &format!("guess-{n}"), "203.0.113.5"), 401);
    }
    assert_eq!(login(&server, 0, "alice-pw", "203.0.113.5"), 429, "the guessing client is locked out");
    assert_eq!(
        login(&server, 0, "alice-pw", "203.0.113.6"),
        200,
        "another client behind the balancer is not"
    );
    for n in 0..3 {
        assert_eq!(login(&server, 1, &format!("guess-{n}"), "203.0.113.7"), 401);
    }
    assert_eq!(
        login(&server, 1, "alice-pw", "203.0.113.8"),
        429,
        "an untrusted peer cannot pick its address"
    );
}

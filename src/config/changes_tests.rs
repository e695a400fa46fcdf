//! Which changes need a restart, what a running server applies instead, and the changed
//! sections.

use crate::config::Config;
use crate::config::test_head::parse_after_head;

const TLS: &str = "[listen.tls]\ncertificate = \"server.crt\"\nkey = \"server.key\"\n";

fn parse(tables: &str) -> Config {
    parse_after_head(tables).unwrap()
}

fn listen(address: &str, upstream: &str, tls: bool) -> String {
    let tls = if tls { TLS } else { "" };
    format!("[[listen]]\naddress = \"{address}\"\nupstream = \"{upstream}\"\n{tls}")
}

#[test]
fn listen_addresses_tls_and_the_metrics_address_need_a_restart() {
    let running = parse(
        &(listen("127.0.0.1:5001", "http://127.0.0.1:5000", false)
            + &listen("127.0.0.1:5443", "http://r:1", true)),
    );
    let same_in_other_order = parse(
        &(listen("127.0.0.1:5443", "http://r:1", true)
            + &listen("127.0.0.1:5001", "http://127.0.0.1:5000", false)),
    );
    assert_eq!(running.restart_needed(&same_in_other_order), vec![]);

    let moved = parse(
        &(listen("127.0.0.1:5002", "http://127.0.0.1:5000", false)
            + &listen("127.0.0.1:5443", "http://r:1", false)
            + "[metrics]\naddress = \"127.0.0.1:9090\"\n"),
    );
    let needed: Vec<String> = running.restart_needed(&moved).iter().map(ToString::to_string).collect();
    assert_eq!(
        needed,
        [
            "[[listen]] address changed from 127.0.0.1:5001, 127.0.0.1:5443 to 127.0.0.1:5002, 127.0.0.1:5443: \
             restart regent to apply it; 127.0.0.1:5001, 127.0.0.1:5443 keeps serving until then",
            "[[listen]] 127.0.0.1:5443 [listen.tls] changed from TLS to plain HTTP: restart regent to apply \
             it; TLS keeps serving until then",
            "[metrics] address changed from none to 127.0.0.1:9090: restart regent to apply it; none keeps \
             serving until then",
        ]
    );
}

#[test]
fn the_applicable_config_keeps_the_running_sockets_and_takes_everything_else() {
    let running = parse(
        &(listen("127.0.0.1:5001", "http://127.0.0.1:5000", false)
            + &listen("127.0.0.1:5443", "http://r:1", true)),
    );
    let new = parse(
        &(listen("127.0.0.1:5002", "http://127.0.0.1:6000", false)
            + &listen("127.0.0.1:5443", "http://r:2", false)
            + "[metrics]\naddress = \"127.0.0.1:9090\"\n[lockout]\nmax_failures = 3\n"),
    );
    let applied = running.applicable(new.clone());
    let addresses: Vec<String> = applied.listen.iter().map(|l| l.address.to_string()).collect();
    assert_eq!(addresses, ["127.0.0.1:5001", "127.0.0.1:5443"], "the bound addresses, as running");
    assert_eq!(applied.listen[0], running.listen[0], "gone from the file: it serves on as it was");
    assert_eq!(applied.listen[1].upstream, Some("http://r:2".parse().unwrap()), "the new upstream");
    assert_eq!(applied.listen[1].tls, running.listen[1].tls, "TLS stays on");
    assert_eq!((applied.metrics, applied.lockout), (running.metrics, new.lockout));
    assert_eq!(applied.restart_needed(&applied), vec![]);
}

#[test]
fn changed_sections_name_each_table_that_differs() {
    let running = parse(&listen("127.0.0.1:5001", "http://127.0.0.1:5000", false));
    assert_eq!(running.changed_sections(&running), Vec::<&str>::new());
    let new = parse(
        &(listen("127.0.0.1:5001", "http://127.0.0.1:5000", false)
            + "[front]\nshutdown_timeout = \"5s\"\n[limits]\nidle_timeout = \"5s\"\n"),
    );
    assert_eq!(running.changed_sections(&new), ["[front]", "[limits]"]);
    let mut token = running.clone();
    token.token.ttl = std::time::Duration::from_secs(600);
    token.policy.directory = "/elsewhere".into();
    assert_eq!(running.changed_sections(&token), ["[token]", "[policy]"]);
}

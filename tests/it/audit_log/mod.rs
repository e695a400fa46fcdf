//! The operator's logs, from the `regent serve` binary: the access log of proxied requests
//! (the real registry 2.8 behind the front end), the audit line of every token decision in the
//! server log and in `[log] audit_file` (JSON lines, reopened after a rename and SIGHUP), why a
//! login failed (unknown user, wrong password, a backend down; a real slapd), `regent policy
//! explain --user` with a directory user's real groups, and a full run's log and audit file
//! holding no password, bind password or token.

mod access;
mod decisions;
mod explain;
mod failures;
mod rotation;

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::env::{SERVICE, TestEnv};
use crate::fixtures::{HttpResponse, Served, free_port, http_get, json_lines};

/// A free loopback port and the realm regent will serve there.
fn realm_on_free_port() -> (u16, String) {
    let port = free_port();
    (port, format!("http://127.0.0.1:{port}/token"))
}

/// Serves `env`'s `regent.toml` with the `regent serve` binary on `port` (`init`'s listener
/// moved there, with `listen` lines added to it), `log` appended (e.g. a `[log]` table), and
/// `RUST_LOG=filter`; stderr goes to `stderr.log` in the data directory.
fn serve(env: &TestEnv, port: u16, listen: &str, log: &str, filter: &str) -> Served {
    let text = std::fs::read_to_string(env.config_path()).expect("regent.toml");
    let listener = "address = \"127.0.0.1:5001\"\n";
    assert!(text.contains(listener), "init's listener:\n{text}");
    let text = text.replace(listener, &format!("address = \"127.0.0.1:{port}\"\n{listen}"));
    std::fs::write(env.config_path(), format!("{text}\n{log}")).expect("write regent.toml");
    let stderr = env.config_path().with_file_name("stderr.log");
    Served::start(env.config_path(), &stderr, &[("RUST_LOG", filter), ("NO_COLOR", "1")])
}

/// `GET /token` for `scopes` with Basic `user:password` (none: anonymous) and `extra` query.
fn token(base: &str, credentials: Option<(&str, &str)>, scopes: &[&str], extra: &str) -> HttpResponse {
    let mut url = format!("{base}/token?service={SERVICE}{extra}");
    for scope in scopes {
        url.push_str(&format!("&scope={scope}"));
    }
    match credentials {
        Some((user, password)) => {
            let auth = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
            http_get(&url, &[("Authorization", &auth)])
        }
        None => http_get(&url, &[]),
    }
}

/// The JSON lines of `text` (a server log or an audit file) logged under `target`, or every
/// JSON line with `target` empty (the audit file has no target).
fn lines_of(text: &str, target: &str) -> Vec<Value> {
    json_lines(text).into_iter().filter(|line| target.is_empty() || line["target"] == target).collect()
}

/// The audit file's lines (JSON), waiting up to 30 s for `count` of them.
fn audit_lines(path: &Path, count: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines = lines_of(&text, "");
        if lines.len() >= count {
            assert_eq!(lines.len(), text.lines().count(), "every audit line is JSON:\n{text}");
            return lines;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{count} lines expected in {}:\n{text}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The 1-based line of the first `[[allow]]` or `[[deny]]` header (`header`) in `file`: where
/// a rule's `file:line` points.
fn rule_line(file: &Path, header: &str) -> usize {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    text.lines().position(|line| line.trim() == header).map(|index| index + 1).expect("the rule's header")
}

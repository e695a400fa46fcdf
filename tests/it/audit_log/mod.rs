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

use serde_json::Value;

use crate::env::SERVICE;
use crate::fixtures::{HttpResponse, basic, http_get};
use crate::served::Served;

/// `http://ADDR` of the server's listener.
fn base(served: &Served) -> String {
    format!("http://{}", served.config.listen)
}

/// `GET /token` for `scopes` with Basic `user:password` (none: anonymous) and `extra` query.
fn token(base: &str, credentials: Option<(&str, &str)>, scopes: &[&str], extra: &str) -> HttpResponse {
    let mut url = format!("{base}/token?service={SERVICE}{extra}");
    for scope in scopes {
        url.push_str(&format!("&scope={scope}"));
    }
    match credentials {
        Some((user, password)) => http_get(&url, &[("Authorization", &basic(user, password))]),
        None => http_get(&url, &[]),
    }
}

/// The JSON objects among the lines of `text` (a server log with `[log] format = "json"`, or
/// an audit file) logged under `target`; every one with `target` empty (the audit file has no
/// target).
fn lines_of(text: &str, target: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.is_object() && (target.is_empty() || line["target"] == target))
        .collect()
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

//! The access log of the front end: registry 2.8 behind regent's listener, a blob pushed and
//! pulled through it with a bearer token, and a 400 on `/token`; `[log] format = "json"`.

use serde_json::Value;

use super::{base, lines_of, token};
use crate::env::TestEnv;
use crate::fixtures::{Registry, http_get, http_request};
use crate::served::{ConfigText, Served};

/// `sha256:HEX` of `bytes`.
fn digest(bytes: &[u8]) -> String {
    let sum = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    format!("sha256:{}", data_encoding::HEXLOWER.encode(sum.as_ref()))
}

/// The access line of the `method` request whose path starts with `path`.
fn line<'a>(lines: &'a [Value], method: &str, path: &str) -> &'a Value {
    lines
        .iter()
        .find(|line| line["method"] == method && line["path"].as_str().is_some_and(|p| p.starts_with(path)))
        .unwrap_or_else(|| panic!("no access line for {method} {path}: {lines:#?}"))
}

#[test]
fn each_proxied_request_gets_one_access_line_with_user_status_bytes_and_addresses() {
    let mut config = ConfigText::new();
    let realm = format!("http://{}/token", config.listen);
    let env = TestEnv::new(&realm);
    let registry = Registry::start(env.registry_auth(realm));
    config.listener = format!("upstream = \"{}\"\ntrusted_proxies = [\"127.0.0.1/32\"]\n", registry.url());
    config.tables = "[log]\nformat = \"json\"\n".into();
    let served = Served::start_in(env, config);
    let base = base(&served);

    let answer = token(&base, Some(("alice", "alice-pw")), &["repository:alice/app:pull,push"], "");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let access_token = answer.json()["token"].as_str().expect("token").to_owned();
    let bearer = format!("Bearer {access_token}");
    // A blob pushed (POST, then PUT with the bytes) and pulled back through the front end.
    let blob = "layer bytes the access log counts";
    let digest = digest(blob.as_bytes());
    let start = http_request(
        "POST",
        &format!("{base}/v2/alice/app/blobs/uploads/"),
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(start.status, 202, "{}", start.body);
    let location = start.header("location").expect("Location").to_owned();
    let upload = if location.starts_with('/') { format!("{base}{location}") } else { location };
    let separator = if upload.contains('?') { '&' } else { '?' };
    let headers = [("Authorization", bearer.as_str()), ("Content-Type", "application/octet-stream")];
    let put = http_request("PUT", &format!("{upload}{separator}digest={digest}"), &headers, blob.as_bytes());
    assert_eq!(put.status, 201, "{}", put.body);
    let pull_headers = [("Authorization", bearer.as_str()), ("X-Forwarded-For", "203.0.113.7")];
    let pulled = http_get(&format!("{base}/v2/alice/app/blobs/{digest}"), &pull_headers);
    assert_eq!((pulled.status, pulled.body.as_str()), (200, blob));
    let refused = http_get(&format!("{base}/token?scope=repository:alice/app:pull"), &[]);
    assert_eq!(refused.status, 400, "no service: {}", refused.body);

    let text = served.server.wait_for_lines("\"target\":\"regent::access\"", 5);
    let lines = lines_of(&text, "regent::access");
    assert_eq!(lines.len(), 5, "one line per request:\n{text}");
    let upstream = registry.url();
    let post = line(&lines, "POST", "/v2/alice/app/blobs/uploads/");
    assert_eq!(
        (&post["status"], &post["user"], &post["upstream"], &post["bytes_received"]),
        (&Value::from(202), &Value::from("alice"), &Value::from(upstream.as_str()), &Value::from(0)),
        "{post}"
    );
    let put = line(&lines, "PUT", "/v2/alice/app/blobs/uploads/");
    assert_eq!(put["status"], 201, "{put}");
    assert_eq!(put["bytes_received"], blob.len(), "the uploaded bytes: {put}");
    assert!(!put["path"].as_str().unwrap().contains('?'), "the path only, never the query: {put}");
    let get = line(&lines, "GET", &format!("/v2/alice/app/blobs/{digest}"));
    assert_eq!(get["status"], 200, "{get}");
    assert_eq!(get["bytes_sent"], blob.len(), "the pulled bytes: {get}");
    assert_eq!((&get["user"], &get["client"]), (&Value::from("alice"), &Value::from("127.0.0.1")), "{get}");
    assert_eq!(get["forwarded"], "203.0.113.7", "from a trusted proxy: {get}");
    assert_eq!((&get["upstream"], &get["complete"]), (&Value::from(upstream.as_str()), &Value::from(true)));
    assert!(get["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{get}");
    for request in [post, put] {
        assert!(request.get("forwarded").is_none(), "no X-Forwarded-For sent: {request}");
    }
    // regent's own answers are logged too: the login (Basic: no bearer user) and the 400.
    let tokens: Vec<&Value> = lines.iter().filter(|line| line["path"] == "/token").collect();
    let statuses: Vec<&Value> = tokens.iter().map(|line| &line["status"]).collect();
    assert_eq!(statuses, [&Value::from(200), &Value::from(400)], "{tokens:#?}");
    assert!(
        tokens.iter().all(|line| line.get("upstream").is_none() && line.get("user").is_none()),
        "{tokens:#?}"
    );
    let answered = lines_of(&text, "regent::http::error");
    assert!(
        answered
            .iter()
            .any(|line| line["status"] == 400 && line["error"] == "the service parameter is required"),
        "the 400's reason is logged:\n{text}"
    );
    let signature = access_token.rsplit('.').next().expect("signature");
    assert!(!text.contains(signature), "a token in the log:\n{text}");
    assert!(!text.contains("_state="), "an upload's query in the log:\n{text}");
}

//! Why a login failed, in the server log and the audit file (never to the client): an unknown
//! user, a wrong password and at which backend (htpasswd or a real slapd), the directory
//! down; and a full run at `RUST_LOG=regent=trace` whose log and audit file hold no password,
//! LDAP bind password, Basic header or token.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{audit_lines, base, token};
use crate::env::{LDAP_BACKEND, LdapGroupSource, LdapOrder, SERVICE, TestEnv, ldap_authn_toml};
use crate::fixtures::{Slapd, http_request, ldif};
use crate::served::{ConfigText, Served};

#[test]
fn failed_logins_say_why_and_nothing_secret_is_logged() {
    let mut slapd = Slapd::start();
    let mut config = ConfigText::new();
    let realm = format!("http://{}/token", config.listen);
    let env = TestEnv::with_ldap(&realm, &slapd, LdapOrder::Last, LdapGroupSource::MemberOf);
    // After the htpasswd backend `local`, as in the LDAP tests' `LdapOrder::Last`.
    let ldap = ldap_authn_toml(&slapd, LdapGroupSource::MemberOf);
    config.tables = format!("{ldap}\n[log]\naudit_file = \"audit.log\"\n");
    let served = Served::start_with(env, config, &[("RUST_LOG", "regent=trace"), ("NO_COLOR", "1")]);
    let base = base(&served);
    let scope = ["repository:team/app:pull"];
    let tries =
        [("alice", "not-alices-pw", 401), ("nobody", "whatever-pw", 401), ("carol", "not-carols-pw", 401)];
    for (user, password, status) in tries {
        let answer = token(&base, Some((user, password)), &scope, "");
        assert_eq!(answer.status, status, "{user}: {}", answer.body);
        assert!(!answer.body.contains(LDAP_BACKEND) && !answer.body.contains("local"), "{}", answer.body);
    }
    let login = token(&base, Some(("carol", "carolpw")), &scope, "&offline_token=true");
    assert_eq!(login.status, 200, "{}", login.body);
    let (access, refresh) = (
        login.json()["token"].as_str().unwrap().to_owned(),
        login.json()["refresh_token"].as_str().unwrap().to_owned(),
    );
    let form = format!("grant_type=refresh_token&client_id=docker&refresh_token={refresh}&service={SERVICE}");
    let form_type = [("Content-Type", "application/x-www-form-urlencoded")];
    let refreshed = http_request("POST", &format!("{base}/token"), &form_type, form.as_bytes());
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let refreshed_access = refreshed.json()["access_token"].as_str().unwrap().to_owned();
    slapd.stop();
    let down = token(&base, Some(("carol", "carol-other-pw")), &scope, "");
    assert_eq!(down.status, 503, "the directory is down: {}", down.body);
    assert!(!down.body.contains(LDAP_BACKEND), "the backend is named in the log only: {}", down.body);

    let audit_path = served.dir().join("audit.log");
    let lines = audit_lines(&audit_path, 6);
    let summary: Vec<Value> = lines
        .iter()
        .map(|line| json!([line["outcome"], line["grant"], line["user"], line["backend"]]))
        .collect();
    assert_eq!(
        summary,
        [
            json!(["wrong_password", "password", "alice", "local"]),
            json!(["unknown_user", "password", "nobody", null]),
            json!(["wrong_password", "password", "carol", LDAP_BACKEND]),
            json!(["issued", "password", "carol", LDAP_BACKEND]),
            json!(["issued", "refresh", "carol", LDAP_BACKEND]),
            json!(["backend_unavailable", "password", "carol", LDAP_BACKEND]),
        ],
        "{lines:#?}"
    );
    assert_eq!(lines[3]["groups"], json!(["developers", "ops"]), "the directory's groups: {}", lines[3]);
    assert_eq!(lines[3]["refresh_token"], true);
    assert!(
        lines[5]["reason"].as_str().is_some_and(|reason| !reason.is_empty()),
        "the outage's error: {}",
        lines[5]
    );
    assert!(lines.iter().all(|line| line["client"] == "127.0.0.1"), "{lines:#?}");

    // The server log says the same, in text.
    let text = served.server.wait_for_lines("authentication unavailable", 1);
    let failed: Vec<&str> = text.lines().filter(|line| line.contains("authentication failed")).collect();
    assert_eq!(failed.len(), 3, "{text}");
    assert!(
        failed[0].contains("outcome=\"wrong_password\"") && failed[0].contains("backend=\"local\""),
        "{}",
        failed[0]
    );
    assert!(
        failed[1].contains("outcome=\"unknown_user\"") && !failed[1].contains("backend="),
        "{}",
        failed[1]
    );
    assert!(failed[2].contains(&format!("backend=\"{LDAP_BACKEND}\"")), "{}", failed[2]);
    let unavailable =
        text.lines().find(|line| line.contains("authentication unavailable")).expect("the outage");
    assert!(
        unavailable.contains("outcome=\"backend_unavailable\"") && unavailable.contains("user=\"carol\""),
        "{unavailable}"
    );

    let audit = std::fs::read_to_string(&audit_path).expect("audit file");
    let mut secrets: Vec<String> = [
        "not-alices-pw",
        "whatever-pw",
        "not-carols-pw",
        "carolpw",
        "carol-other-pw",
        ldif::SERVICE_PASSWORD,
    ]
    .map(str::to_owned)
    .into();
    for (user, password) in [("alice", "not-alices-pw"), ("carol", "carolpw"), ("carol", "carol-other-pw")] {
        secrets.push(STANDARD.encode(format!("{user}:{password}")));
    }
    for token in [&access, &refresh, &refreshed_access] {
        secrets.push(token.rsplit('.').next().expect("signature").to_owned());
        secrets.push(token[..40].to_owned());
    }
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "{secret:?} in the server log:\n{text}");
        assert!(!audit.contains(secret.as_str()), "{secret:?} in the audit file:\n{audit}");
    }
}

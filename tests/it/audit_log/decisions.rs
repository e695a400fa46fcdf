//! The audit line of a granted and a partly denied request, in the audit file and in the
//! server log (`[log] format = "json"`): who, how, what, the deciding rules `file:line`, and
//! the `jti` of the token handed out.

use regent::clock::{Clock, SystemClock};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{audit_lines, base, lines_of, rule_line, token};
use crate::env::TestEnv;
use crate::fixtures::claims;
use crate::served::{ConfigText, Served};

/// A deny rule on line 3 of its file.
const DENY_SECRET_PUSH: &str = "# alice reads her secret repository but may not push to it.\n\n[[deny]]\n\
    who = [\"user:alice\"]\nrepositories = [\"alice/secret\"]\nactions = [\"push\"]\n";

#[test]
fn each_decision_is_audited_with_rules_groups_and_the_tokens_jti() {
    let mut config = ConfigText::new();
    let env = TestEnv::new(&format!("http://{}/token", config.listen));
    let policies = env.config.policy.directory.clone();
    std::fs::write(policies.join("90-audit.toml"), DENY_SECRET_PUSH).expect("write a policy");
    let audit_dir = env.config_path().with_file_name("audit");
    std::fs::create_dir(&audit_dir).expect("mkdir audit");
    config.listener = "trusted_proxies = [\"127.0.0.1/32\"]\n".into();
    config.tables = "[log]\nformat = \"json\"\naudit_file = \"audit/regent-audit.log\"\n".into();
    let served = Served::start_in(env, config);
    let base = base(&served);
    let before = SystemClock.now();

    let scopes =
        ["repository:alice/app:pull,push", "repository:alice/secret:pull,push", "repository:bob/app:push"];
    let alice = token(&base, Some(("alice", "alice-pw")), &scopes, "");
    assert_eq!(alice.status, 200, "{}", alice.body);
    let admin = token(&base, Some(("admin", "admin-pw")), &["registry:catalog:*"], "&offline_token=true");
    assert_eq!(admin.status, 200, "{}", admin.body);
    let anonymous = token(&base, None, &["repository:alice/app:pull"], "");
    assert_eq!(anonymous.status, 200, "{}", anonymous.body);
    let jti = |answer: &crate::fixtures::HttpResponse| {
        claims(answer.json()["token"].as_str().expect("token"))["jti"].clone()
    };

    let lines = audit_lines(&audit_dir.join("regent-audit.log"), 3);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    let (first, second, third) = (&lines[0], &lines[1], &lines[2]);
    let time = OffsetDateTime::parse(first["time"].as_str().expect("time"), &Rfc3339).expect("RFC 3339");
    assert!(time >= before && time <= SystemClock.now(), "the server's clock: {first}");
    let deny = format!("{}:3", policies.join("90-audit.toml").display());
    let namespaces = policies.join("10-namespaces.toml");
    let own = format!("{}:{}", namespaces.display(), rule_line(&namespaces, "[[allow]]"));
    assert_eq!(
        (&first["message"], &first["outcome"], &first["grant"], &first["user"], &first["backend"]),
        (&json!("token issued"), &json!("issued"), &json!("password"), &json!("alice"), &json!("local")),
        "{first}"
    );
    assert_eq!(
        (&first["client"], &first["groups"], &first["jti"]),
        (&json!("127.0.0.1"), &json!([]), &jti(&alice))
    );
    assert_eq!(first["requested"], json!(scopes), "{first}");
    let granted: Vec<&Value> = first["granted"].as_array().expect("granted").iter().collect();
    let scopes_granted: Vec<&Value> = granted.iter().map(|ruled| &ruled["scope"]).collect();
    assert_eq!(
        scopes_granted,
        [
            &json!("repository:alice/app:pull"),
            &json!("repository:alice/app:push"),
            &json!("repository:alice/secret:pull")
        ],
        "{first}"
    );
    assert!(
        granted.iter().all(|ruled| ruled["rule"] == own.as_str()),
        "granted by ${{user}}/** at {own}: {first}"
    );
    let denied = first["denied"].as_array().expect("denied");
    assert_eq!(denied.len(), 2, "{first}");
    assert_eq!(
        denied[0],
        json!({"scope": "repository:alice/secret:push", "rule": deny, "reason": format!("denied by {deny}")})
    );
    assert_eq!(
        denied[1],
        json!({"scope": "repository:bob/app:push", "rule": null, "reason": "no allow rule matched"})
    );
    assert_eq!(first["refresh_token"], false);
    assert_eq!(
        (&second["user"], &second["groups"], &second["jti"]),
        (&json!("admin"), &json!(["admins"]), &jti(&admin))
    );
    assert_eq!(second["refresh_token"], true, "offline_token=true: {second}");
    assert_eq!(second["granted"][0]["scope"], "registry:catalog:*", "{second}");
    assert_eq!((&third["grant"], &third["jti"]), (&json!("anonymous"), &jti(&anonymous)));
    assert!(third.get("user").is_none() && third.get("backend").is_none(), "{third}");

    // The server log has the same decisions, as JSON lines with the same field names.
    let text = served.server.wait_for_lines("\"jti\"", 3);
    let logged = lines_of(&text, "regent::audit");
    assert_eq!(logged.len(), 3, "{text}");
    let line = &logged[0];
    assert_eq!(
        (&line["message"], &line["user"], &line["backend"]),
        (&json!("token issued"), &json!("alice"), &json!("local"))
    );
    assert_eq!((&line["jti"], &line["client"]), (&jti(&alice), &json!("127.0.0.1")));
    assert_eq!(line["granted"], "repository:alice/app:pull,push repository:alice/secret:pull", "{line}");
    let denied = line["denied"].as_str().expect("denied");
    assert!(denied.contains(&format!("repository:alice/secret:push denied (denied by {deny})")), "{denied}");
    assert!(denied.contains("repository:bob/app:push denied (no allow rule matched)"), "{denied}");
    assert!(line["timestamp"].is_string() && line["level"] == "INFO", "{line}");
}

//! The audit record of an issued token and of each refusal, as the audit file gets it.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;
use crate::policy::{PolicySet, PolicySource};
use crate::scope::parse_scopes;

const POLICY: &str = r#"[[allow]]
who = ["group:developers"]
repositories = ["team/**"]
actions = ["pull", "push"]

[[deny]]
who = ["user:carol"]
repositories = ["team/secret"]
actions = ["push"]
"#;

fn time() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap()
}

fn json_of(entry: &Entry<'_>) -> Value {
    serde_json::to_value(Record::of(entry)).unwrap()
}

#[test]
fn an_issued_token_names_who_what_and_the_deciding_rules() {
    let source =
        PolicySource { path: PathBuf::from("/etc/regent/policies/10-team.toml"), text: POLICY.into() };
    let set = PolicySet::from_sources(&[source]).unwrap().set;
    let carol = Principal::User {
        kind: crate::subject::SubjectKind::Person,
        name: "carol".into(),
        groups: vec!["developers".into(), "Domain Users".into()],
        backend: "corp".into(),
        owns_name: true,
        claims: vec![crate::subject::Claim::parse("department:platform").unwrap()],
    };
    let scopes = parse_scopes(["repository:team/secret:pull,push", "repository:ops/x:pull"]).unwrap();
    let evaluation = set.evaluate(&carol, &scopes);
    let entry = Entry {
        time: time(),
        client: Some("10.0.0.2".parse().unwrap()),
        forwarded: Some("203.0.113.5".parse().unwrap()),
        grant: "password",
        requested: &scopes,
        outcome: Outcome::Issued {
            principal: &carol,
            evaluation: &evaluation,
            jti: "j-1",
            refresh_token: true,
        },
    };
    let expected = json!({
        "time": "2026-01-01T00:00:00Z",
        "message": "token issued",
        "outcome": "issued",
        "client": "10.0.0.2",
        "forwarded": "203.0.113.5",
        "grant": "password",
        "user": "carol",
        "backend": "corp",
        "groups": ["developers", "Domain Users"],
        "claims": ["claim:department:platform"],
        "requested": ["repository:team/secret:pull,push", "repository:ops/x:pull"],
        "granted": [{"scope": "repository:team/secret:pull", "rule": "/etc/regent/policies/10-team.toml:1"}],
        "denied": [
            {
                "scope": "repository:team/secret:push",
                "rule": "/etc/regent/policies/10-team.toml:6",
                "reason": "denied by /etc/regent/policies/10-team.toml:6",
            },
            {"scope": "repository:ops/x:pull", "rule": null, "reason": "no allow rule matched"},
        ],
        "jti": "j-1",
        "refresh_token": true,
    });
    assert_eq!(json_of(&entry), expected);
}

#[test]
fn refusals_say_why_and_which_backend() {
    let scopes = parse_scopes(["repository:team/app:pull"]).unwrap();
    let refused = |refusal, user, backend, reason| Entry {
        time: time(),
        client: Some("127.0.0.1".parse().unwrap()),
        forwarded: None,
        grant: "password",
        requested: &scopes,
        outcome: Outcome::Refused { refusal, user, backend, reason },
    };
    let cases = [
        (refused(Refusal::UnknownUser, Some("nobody"), None, None), "unknown_user", "authentication failed"),
        (
            refused(Refusal::WrongPassword, Some("alice"), Some("local"), None),
            "wrong_password",
            "authentication failed",
        ),
        (
            refused(Refusal::BackendUnavailable, Some("carol"), Some("corp"), Some("connection refused")),
            "backend_unavailable",
            "authentication unavailable",
        ),
        (refused(Refusal::LockedOut, Some("alice"), None, None), "locked_out", "login refused: locked out"),
        (
            refused(Refusal::RefreshRefused, None, None, Some("bad signature")),
            "refresh_refused",
            "refresh token refused",
        ),
    ];
    for (entry, outcome, message) in cases {
        let record = json_of(&entry);
        assert_eq!(record["outcome"], outcome, "{record}");
        assert_eq!(record["message"], message, "{record}");
        assert_eq!(record["client"], "127.0.0.1");
        assert!(record.get("forwarded").is_none() && record.get("jti").is_none(), "{record}");
        assert_eq!(record["requested"], json!(["repository:team/app:pull"]));
        assert_eq!((record["granted"].clone(), record["denied"].clone()), (json!([]), json!([])));
        let Outcome::Refused { user, backend, reason, .. } = entry.outcome else { unreachable!() };
        assert_eq!(record.get("user").and_then(Value::as_str), user);
        assert_eq!(record.get("backend").and_then(Value::as_str), backend);
        assert_eq!(record.get("reason").and_then(Value::as_str), reason);
    }
}

#[tokio::test]
async fn the_audit_file_gets_one_json_line_per_decision() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let audit = AuditLog::open(Some(&path)).unwrap();
    let scopes = parse_scopes(["repository:public/x:pull"]).unwrap();
    let evaluation = Evaluation::default();
    for jti in ["a", "b"] {
        audit.record(&Entry {
            time: time(),
            client: None,
            forwarded: None,
            grant: "anonymous",
            requested: &scopes,
            outcome: Outcome::Issued {
                principal: &Principal::Anonymous,
                evaluation: &evaluation,
                jti,
                refresh_token: false,
            },
        });
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!((lines[0]["jti"].as_str(), lines[1]["jti"].as_str()), (Some("a"), Some("b")));
    assert!(lines[0].get("user").is_none(), "anonymous has no user: {text}");
    assert_eq!(lines[0]["grant"], "anonymous");
}

#[tokio::test]
async fn an_audit_file_that_cannot_be_opened_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("audit.log");
    let error = AuditLog::open(Some(&path)).unwrap_err();
    assert_eq!(error.path, path);
    assert!(error.to_string().starts_with(&format!("audit_file {}: ", path.display())), "{error}");
    assert!(AuditLog::open(None).is_ok(), "no audit file: the server log only");
}

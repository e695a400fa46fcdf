use super::*;

const POLICY: &str = "\
[[allow]]
who = [\"authenticated\"]
repositories = [\"${user}/**\"]
actions = [\"*\"]

[[allow]]
who = [\"anonymous\"]
repositories = [\"public/**\"]
actions = [\"pull\"]

[[deny]]
who = [\"group:interns\"]
repositories = [\"**\"]
actions = [\"delete\"]

[[allow]]
who = [\"group:corp/admins\"]
registry = [\"catalog\"]
actions = [\"*\"]
";

fn policies() -> PolicySet {
    let source = PolicySource { path: PathBuf::from("p.toml"), text: POLICY.to_owned() };
    let loaded = PolicySet::from_sources(&[source]).expect("valid policy");
    assert_eq!(loaded.warnings, Vec::<String>::new());
    loaded.set
}

fn parse(text: &str) -> Result<PolicyTestFile, PolicyError> {
    PolicyTestFile::parse(&PolicySource { path: PathBuf::from("t.test.toml"), text: text.to_owned() })
}

fn mismatches(text: &str) -> Vec<String> {
    let file = parse(text).expect(text);
    policies().run_tests(&file).iter().map(ToString::to_string).collect()
}

#[test]
fn passing_cases_have_no_mismatch() {
    let text = "\
[[case]]
who = \"user:alice\"
scope = \"repository:alice/app:*\"
granted = [\"delete\", \"pull\", \"push\"]

[[case]]
who = \"user:alice\"
owns_name = false
scope = \"repository:alice/app:pull\"
granted = []

[[case]]
who = \"anonymous\"
scope = \"repository:public/x:pull,push\"
granted = [\"pull\"]

[[case]]
who = \"user:ian\"
groups = [\"interns\"]
scope = \"repository:ian/app:pull,push,delete\"
granted = [\"pull\", \"push\"]

[[case]]
who = \"user:root\"
groups = [\"admins\"]
backend = \"corp\"
scope = \"registry:catalog:*\"
granted = [\"*\"]

[[case]]
who = \"user:root\"
groups = [\"admins\"]
scope = \"registry:catalog:*\"
granted = []
";
    assert_eq!(mismatches(text), Vec::<String>::new());
    assert_eq!(parse(text).expect("valid").cases.len(), 6);
}

#[test]
fn a_mismatch_names_the_deciding_rule_of_each_differing_action() {
    let text = "\
# a comment

[[case]]
name = \"interns may delete their own\"
who = \"user:ian\"
groups = [\"interns\"]
scope = \"repository:ian/app:*\"
granted = [\"pull\", \"push\", \"delete\"]

[[case]]
who = \"anonymous\"
scope = \"repository:public/x:pull,push\"
granted = [\"push\"]
";
    assert_eq!(
        mismatches(text),
        [
            "t.test.toml:3: case \"interns may delete their own\": expected [pull, push, delete], \
             got [pull, push] (delete: denied by p.toml:11)",
            "t.test.toml:10: case \"anonymous repository:public/x:pull,push\": expected [push], \
             got [pull] (pull: allowed by p.toml:6; push: no allow rule matched)",
        ]
    );
}

#[test]
fn bad_files_are_errors_at_their_position() {
    let case = |body: &str| format!("[[case]]\n{body}");
    let cases = [
        (String::new(), "t.test.toml:1:1: no [[case]] in this policy test file"),
        (
            case("who = \"user:a\"\nscope = \"repository:a:pull\"\ngranted = []\ngrant = []\n"),
            "t.test.toml:5:1: unknown field `grant`, expected one of `name`, `who`, `groups`, `backend`, \
             `owns_name`, `claims`, `ceiling`, `scope`, `granted`",
        ),
        (
            case("who = \"group:a\"\nscope = \"repository:a:pull\"\ngranted = []\n"),
            "t.test.toml:2:7: unknown `who` \"group:a\" (expected \"user:NAME\", \"robot:NAME\" or \"anonymous\"; \
             groups go in `groups`, claims in `claims`)",
        ),
        (
            case("who = \"anonymous\"\ngroups = [\"x\"]\nscope = \"repository:a:pull\"\ngranted = []\n"),
            "t.test.toml:3:10: `groups`, `backend`, `owns_name`, `claims` and `ceiling` are for users and robots, \
             not anonymous",
        ),
        (
            case(
                "who = \"anonymous\"\nceiling = [\"repository:a:pull\"]\nscope = \"repository:a:pull\"\ngranted = []\n",
            ),
            "t.test.toml:3:11: `groups`, `backend`, `owns_name`, `claims` and `ceiling` are for users and robots, \
             not anonymous",
        ),
        (
            case("who = \"robot:ci\"\nclaims = [\"ref\"]\nscope = \"repository:a:pull\"\ngranted = []\n"),
            "t.test.toml:3:11: invalid claim key \"ref\" (use letters, digits, `_`, `-` and `.`) \
             (a claim is written KEY:VALUE)",
        ),
        (
            case(
                "who = \"robot:ci\"\nceiling = [\"repository:a:pull\", \"a:b\"]\nscope = \"repository:a:pull\"\ngranted = []\n",
            ),
            "t.test.toml:3:33: invalid scope \"a:b\": expected type:name:actions",
        ),
        (
            case("who = \"robot:\"\nscope = \"repository:a:pull\"\ngranted = []\n"),
            "t.test.toml:2:7: unknown `who` \"robot:\" (expected \"user:NAME\", \"robot:NAME\" or \"anonymous\"; \
             groups go in `groups`, claims in `claims`)",
        ),
        (
            case("who = \"user:a\"\nscope = \"repository:a\"\ngranted = []\n"),
            "t.test.toml:3:9: invalid scope \"repository:a\": expected type:name:actions",
        ),
        (
            case("who = \"user:a\"\nscope = \"repository:a:pull\"\ngranted = [\"pull\", \"push\"]\n"),
            "t.test.toml:4:20: \"push\" is not requested by the scope",
        ),
        (
            case("who = \"user:a\"\nscope = \"registry:catalog:*\"\ngranted = [\"pull\"]\n"),
            "t.test.toml:4:12: \"pull\" is not a registry action (expected *)",
        ),
        (
            case("who = \"user:a\"\nscope = \"repository:a:pull\"\n"),
            "t.test.toml:1:1: missing field `granted`",
        ),
    ];
    for (text, expected) in cases {
        let err = parse(&text).expect_err(&text);
        assert_eq!(err.to_string(), expected, "{text}");
    }
}

#[test]
fn cases_ask_as_robots_with_claims_and_ceilings() {
    let policy = "\
[[allow]]
who = [\"robot:ci\", \"claim:project_path:team/app\"]
repositories = [\"team/**\"]
actions = [\"pull\", \"push\"]
";
    let source = PolicySource { path: PathBuf::from("r.toml"), text: policy.to_owned() };
    let set = PolicySet::from_sources(&[source]).expect("valid policy").set;
    let text = "\
[[case]]
who = \"robot:ci\"
scope = \"repository:team/app:pull,push\"
granted = [\"pull\", \"push\"]

[[case]]
who = \"user:ci\"
scope = \"repository:team/app:pull\"
granted = []

[[case]]
who = \"robot:job\"
claims = [\"project_path:team/app\"]
scope = \"repository:team/x:pull\"
granted = [\"pull\"]

[[case]]
name = \"the token's scopes cap the robot\"
who = \"robot:ci\"
ceiling = [\"repository:team/app:pull\"]
scope = \"repository:team/app:pull,push\"
granted = [\"pull\", \"push\"]
";
    let file = parse(text).expect("valid");
    let got: Vec<String> = set.run_tests(&file).iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        ["t.test.toml:17: case \"the token's scopes cap the robot\": expected [pull, push], got [pull] \
          (push: outside the credential's scope)"]
    );
    assert!(matches!(&file.cases[2].principal, Principal::User { claims, .. } if claims.len() == 1));
}

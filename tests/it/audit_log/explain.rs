//! `regent policy explain --user NAME` looks the user up in the configured backends (a real
//! slapd after htpasswd) and explains with the groups the directory gives them.

use super::rule_line;
use crate::env::{LDAP_BACKEND, LdapGroupSource, LdapOrder, TestEnv};
use crate::fixtures::{Slapd, regent, text};

#[test]
fn explain_user_resolves_the_directory_groups_and_names_the_rules() {
    let slapd = Slapd::start();
    let env =
        TestEnv::with_ldap("http://127.0.0.1:5001/token", &slapd, LdapOrder::Last, LdapGroupSource::MemberOf);
    let config = env.config_path().to_str().expect("utf-8").to_owned();
    let dir = env.config_path().parent().expect("data dir").to_owned();
    let scopes = ["repository:team/app:pull,push", "repository:ops/tool:push"];
    let explain = |user: &str| {
        let mut args = vec!["policy", "explain", "--config", &config, "--user", user];
        args.extend(scopes);
        regent(&args, &dir)
    };

    let out = explain("carol");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let teams = env.config.policy.directory.join("40-teams.toml");
    let rule = format!("{}:{}", teams.display(), rule_line(&teams, "[[allow]]"));
    let read_only = env.config.policy.directory.join("20-read-only.toml");
    let read_rule = format!("{}:{}", read_only.display(), rule_line(&read_only, "[[allow]]"));
    let expected = [
        format!("looking up \"carol\" in the backends of {config} (local, {LDAP_BACKEND})"),
        "  local: no such user".to_owned(),
        format!("  {LDAP_BACKEND}: found \"carol\", groups [\"developers\", \"ops\"]"),
        format!("as user \"carol\" of backend \"{LDAP_BACKEND}\", groups [\"developers\", \"ops\"]"),
        format!("repository:team/app:pull granted (allowed by {read_rule})"),
        format!("repository:team/app:push granted (allowed by {rule})"),
        "repository:ops/tool:push denied (no allow rule matched)".to_owned(),
        "token access: repository:team/app:pull,push".to_owned(),
    ];
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected, "{stdout}");

    // bob is htpasswd's (first in the chain), without groups: no team push for him, although
    // the directory has a bob too.
    let out = explain("bob");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("  local: found \"bob\", groups []"), "{stdout}");
    assert!(
        !stdout.contains(&format!("  {LDAP_BACKEND}:")),
        "the chain stops at the first backend knowing him: {stdout}"
    );
    assert!(stdout.contains("repository:team/app:push denied (no allow rule matched)"), "{stdout}");

    // Nobody knows "nobody": said so, then the name is explained without groups.
    let out = explain("nobody");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("no backend knows \"nobody\": a login is refused (401)"), "{stdout}");
    assert!(stdout.contains("user \"nobody\" as given: backend \"\", groups []"), "{stdout}");
    assert!(stdout.contains("repository:team/app:push denied (no allow rule matched)"), "{stdout}");
    let mut args =
        vec!["policy", "explain", "--config", &config, "--user", "nobody", "--group", "developers"];
    args.extend(scopes);
    let given = regent(&args, &dir);
    assert!(given.status.success(), "{}", text(&given.stderr));
    let stdout = text(&given.stdout);
    assert!(stdout.contains("user \"nobody\" as given: backend \"\", groups [\"developers\"]"), "{stdout}");
    assert!(stdout.contains(&format!("repository:team/app:push granted (allowed by {rule})")), "{stdout}");
}

use std::path::Path;

use super::*;
use crate::policy::examples::{EXAMPLE_POLICIES, EXAMPLE_POLICY_DIRECTORY, EXAMPLE_POLICY_TESTS_FILE};
use crate::policy::test_file::PolicyTestFile;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
}

#[test]
fn shipped_policies_grant_exactly_the_documented_access() {
    let loaded = PolicySet::load_dir(&examples_dir()).expect("examples load");
    assert_eq!(loaded.warnings, Vec::<String>::new());
    let set = loaded.set;
    let alice = user("alice", &[]);
    let bob = user("bob", &[]);
    let dev = user("dave", &["developers"]);
    let root = user("root", &["admins"]);
    let anonymous = Principal::Anonymous;
    let cases: Vec<(&Principal, &str, Vec<&str>)> = vec![
        (&alice, "repository:alice/app:pull,push,delete", vec!["repository:alice/app:pull,push,delete"]),
        (&alice, "repository:bob/app:pull,push", vec!["repository:bob/app:pull"]),
        (&alice, "repository:library/nginx:pull,push", vec!["repository:library/nginx:pull"]),
        (&alice, "repository:team/app:pull,push", vec!["repository:team/app:pull"]),
        (&alice, "registry:catalog:*", vec![]),
        (&bob, "repository:bob/app:*", vec!["repository:bob/app:pull,push,delete"]),
        (&bob, "repository:alice/app:push,delete", vec![]),
        (&anonymous, "repository:public/app:pull,push", vec!["repository:public/app:pull"]),
        (&anonymous, "repository:alice/app:pull", vec![]),
        (&anonymous, "repository:library/nginx:pull", vec![]),
        (&anonymous, "registry:catalog:*", vec![]),
        (&dev, "repository:team/app:pull,push,delete", vec!["repository:team/app:pull,push"]),
        (&dev, "repository:other/app:push", vec![]),
        (&root, "registry:catalog:*", vec!["registry:catalog:*"]),
        (&root, "repository:alice/app:*", vec!["repository:alice/app:pull,push,delete"]),
    ];
    for (who, scopes, expected) in cases {
        assert_eq!(access_of(&set, who, scopes), expected, "{who:?} asking {scopes}");
    }
}

#[test]
fn example_constant_lists_every_shipped_file() {
    let mut on_disk: Vec<(String, String)> = std::fs::read_dir(examples_dir())
        .expect("policies/ exists")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_file())
        .map(|path| {
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("readable"))
        })
        .collect();
    on_disk.sort();
    let compiled: Vec<(String, String)> =
        EXAMPLE_POLICIES.iter().map(|(name, text)| ((*name).to_owned(), (*text).to_owned())).collect();
    assert_eq!(compiled, on_disk);
}

#[test]
fn compiled_examples_load_like_the_directory() {
    let sources: Vec<PolicySource> = EXAMPLE_POLICIES
        .iter()
        .map(|(name, text)| PolicySource { path: PathBuf::from(name), text: (*text).to_owned() })
        .collect();
    let loaded = PolicySet::from_sources(&sources).expect("examples load");
    assert_eq!(loaded.warnings, Vec::<String>::new());
    assert_eq!(loaded.set.rule_count(), 6);
}

#[test]
fn the_shipped_policy_tests_pass_and_are_written_by_init() {
    let loaded = PolicySet::load_dir(&examples_dir()).expect("examples load");
    let tests =
        PolicyTestFile::read(&examples_dir().join(EXAMPLE_POLICY_TESTS_FILE)).expect("test file parses");
    assert!(tests.cases.len() >= 10, "{} cases", tests.cases.len());
    assert_eq!(loaded.set.run_tests(&tests), Vec::new());

    let (tests_entry, policies) = EXAMPLE_POLICY_DIRECTORY.split_last().expect("not empty");
    assert_eq!(policies, EXAMPLE_POLICIES);
    let on_disk = std::fs::read_to_string(examples_dir().join(EXAMPLE_POLICY_TESTS_FILE)).expect("readable");
    assert_eq!(*tests_entry, (EXAMPLE_POLICY_TESTS_FILE, on_disk.as_str()));
}

//! The example policy files shipped in `policies/`, and their policy tests, compiled in for
//! `regent init`.

/// `policies/10-namespaces.toml`.
const NAMESPACES: (&str, &str) = ("10-namespaces.toml", include_str!("../../policies/10-namespaces.toml"));
/// `policies/20-read-only.toml`.
const READ_ONLY: (&str, &str) = ("20-read-only.toml", include_str!("../../policies/20-read-only.toml"));
/// `policies/30-public.toml`.
const PUBLIC: (&str, &str) = ("30-public.toml", include_str!("../../policies/30-public.toml"));
/// `policies/40-teams.toml`.
const TEAMS: (&str, &str) = ("40-teams.toml", include_str!("../../policies/40-teams.toml"));
/// `policies/50-admins.toml`.
const ADMINS: (&str, &str) = ("50-admins.toml", include_str!("../../policies/50-admins.toml"));

/// The examples' policy test file, relative to the policy directory (a subdirectory: the policy
/// loader reads only the directory's own `*.toml` files).
pub const EXAMPLE_POLICY_TESTS_FILE: &str = "tests/examples.test.toml";

/// `policies/tests/examples.test.toml`.
const TESTS: (&str, &str) =
    (EXAMPLE_POLICY_TESTS_FILE, include_str!("../../policies/tests/examples.test.toml"));

/// Each example policy file: its file name and text, in load order.
pub const EXAMPLE_POLICIES: &[(&str, &str)] = &[NAMESPACES, READ_ONLY, PUBLIC, TEAMS, ADMINS];

/// What `regent init` writes into the policy directory: [`EXAMPLE_POLICIES`] and their test
/// file (path relative to the directory, text).
pub const EXAMPLE_POLICY_DIRECTORY: &[(&str, &str)] = &[NAMESPACES, READ_ONLY, PUBLIC, TEAMS, ADMINS, TESTS];

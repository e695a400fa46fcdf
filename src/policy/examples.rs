//! The example policy files shipped in `policies/`, compiled in for `regent init`.

/// Each example policy file: its file name and text, in load order.
pub const EXAMPLE_POLICIES: &[(&str, &str)] = &[
    ("10-namespaces.toml", include_str!("../../policies/10-namespaces.toml")),
    ("20-read-only.toml", include_str!("../../policies/20-read-only.toml")),
    ("30-public.toml", include_str!("../../policies/30-public.toml")),
    ("40-teams.toml", include_str!("../../policies/40-teams.toml")),
    ("50-admins.toml", include_str!("../../policies/50-admins.toml")),
];

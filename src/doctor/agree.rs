//! Do regent and the registry agree on the service, the issuer and the realm?

use super::report::Check;

/// One setting both sides have: what regent says and what the registry was configured with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Setting<'a> {
    /// The check's name and the registry's key under `auth.token` (`service`, `issuer`, `realm`).
    pub name: &'static str,
    /// The key in regent.toml's `[token]`.
    pub regent_key: &'static str,
    /// What regent's configuration says.
    pub regent: &'a str,
    /// What the registry's configuration says (`None`: not set).
    pub registry: Option<&'a str>,
}

/// `service`/`issuer`/`realm`: equal strings on both sides (the registry compares exactly).
pub(super) fn agree(setting: Setting<'_>) -> Check {
    let Setting { name, regent_key, regent, registry } = setting;
    match registry {
        Some(registry) if registry == regent => {
            Check::ok(name, format!("regent and the registry agree on {regent:?}"))
        }
        Some(registry) => Check::fail(
            name,
            format!("regent {} {regent:?}, the registry {} {registry:?}", what(name), expects(name)),
            format!(
                "set [token] {regent_key} = {registry:?} in regent.toml or auth.token.{name}: {regent:?} in config.yml"
            ),
        ),
        None => Check::fail(
            name,
            format!("the registry's configuration sets no auth.token.{name} (registry 2.8 will not start)"),
            format!(
                "add auth.token.{name}: {regent:?} to config.yml (or REGISTRY_AUTH_TOKEN_{})",
                name.to_uppercase()
            ),
        ),
    }
}

/// How the registry uses the setting, for the failure message.
fn expects(name: &str) -> &'static str {
    if name == "realm" { "sends clients to" } else { "expects" }
}

/// How regent uses the setting, for the failure message.
fn what(name: &str) -> &'static str {
    match name {
        "service" => "signs tokens for (aud)",
        "issuer" => "signs as (iss)",
        _ => "serves tokens at",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn equal_different_and_missing() {
        let setting = |registry| Setting { name: "issuer", regent_key: "issuer", regent: "regent", registry };
        let ok = agree(setting(Some("regent")));
        assert_eq!(ok.to_string(), "ok    issuer: regent and the registry agree on \"regent\"");
        let fail = agree(setting(Some("other")));
        assert_eq!(fail.status, Status::Fail);
        assert_eq!(
            fail.to_string(),
            "FAIL  issuer: regent signs as (iss) \"regent\", the registry expects \"other\" -> fix: set [token] \
             issuer = \"other\" in regent.toml or auth.token.issuer: \"regent\" in config.yml"
        );
        let missing = agree(setting(None));
        assert_eq!(missing.status, Status::Fail);
        assert!(missing.to_string().contains("REGISTRY_AUTH_TOKEN_ISSUER"), "{missing}");
        // The registry compares exactly: case and trailing slashes count.
        let realm = Setting {
            name: "realm",
            regent_key: "realm",
            regent: "http://a/token",
            registry: Some("http://a/token/"),
        };
        assert_eq!(agree(realm).status, Status::Fail);
    }
}

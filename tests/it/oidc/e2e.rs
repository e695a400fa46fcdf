//! OIDC JWTs as the password with the real programs: skopeo (`--creds NAME:JWT`) and the docker
//! CLI (`docker login -p JWT`, push, pull) against registry 2.8 trusting regent (`regent serve`,
//! the oidc backend after htpasswd, keys from a JWKS file), a push outside what the policy
//! gives the workload refused, and the JWT nowhere in regent's log.

use std::time::Duration;

use regent::clock::{Clock, SystemClock};

use crate::env::TestEnv;
use crate::fixtures::docker::scratch::ScratchContext;
use crate::fixtures::docker::{Docker, describe};
use crate::fixtures::oidc_issuer::TestIssuer;
use crate::fixtures::{Registry, Skopeo, oci};
use crate::served::{ConfigText, Served};

/// The workload's issuer.
const CI_ISSUER: &str = "https://token.actions.example";
/// The audience the workload asks its issuer for.
const AUD: &str = "registry.example";

/// Workloads of repository acme/app may pull and push acme/app, nothing else.
const POLICY: &str = r#"
[[allow]]
who = ["claim:ci/repository:acme/app"]
repositories = ["acme/app"]
actions = ["pull", "push"]
"#;

/// regent serving with an oidc backend `ci`, a registry trusting it, and the issuer.
struct Stack {
    served: Served,
    registry: Registry,
    issuer: TestIssuer,
}

impl Stack {
    fn start() -> Stack {
        let config = ConfigText::new();
        let env = TestEnv::new(&format!("http://{}/token", config.listen));
        let registry = Registry::start(env.registry_auth(format!("http://{}/token", config.listen)));
        let issuer = TestIssuer::new(CI_ISSUER);
        let dir = env.config_path().parent().expect("data dir").to_owned();
        std::fs::write(dir.join("ci-jwks.json"), issuer.jwks()).expect("write the JWKS");
        std::fs::write(env.config.policy.directory.join("60-oidc.toml"), POLICY).expect("write the policy");
        let tables = format!(
            "[[authn]]\nname = \"ci\"\nkind = \"oidc\"\nissuer = \"{CI_ISSUER}\"\naudiences = [\"{AUD}\"]\n\
             jwks_file = \"ci-jwks.json\"\nrobot = true\nclaims = {{ repository_owner = \"acme\" }}\n\
             policy_claims = [\"repository\"]\n"
        );
        let served = Served::start_in(env, ConfigText { tables, ..config });
        Stack { served, registry, issuer }
    }

    /// A fresh JWT for the workload of acme/app.
    fn jwt(&self) -> String {
        self.issuer.token(&self.issuer.claims(AUD, SystemClock.now().unix_timestamp()))
    }

    /// Checks that regent's log never holds `jwt` nor its signature.
    fn assert_log_clean(&self, jwt: &str) {
        let log = self.served.server.log();
        assert!(log.contains("token issued"), "regent logged the logins: {log}");
        let signature = jwt.rsplit('.').next().expect("signature");
        assert!(!log.contains(jwt) && !log.contains(signature), "the JWT is in regent's log:\n{log}");
    }
}

#[test]
fn skopeo_copies_with_an_oidc_jwt_as_the_password_within_its_policy_only() {
    let stack = Stack::start();
    let images = tempfile::tempdir().expect("tempdir");
    let image = oci::write_layout(images.path(), "v1", b"pushed by a workload");
    let skopeo = Skopeo::new();
    let jwt = stack.jwt();
    let host = stack.registry.host();
    let push = skopeo.copy(&image.reference(), &format!("docker://{host}/acme/app:v1"), Some(("ci", &jwt)));
    assert!(push.status.success(), "push: {}", String::from_utf8_lossy(&push.stderr));
    let inspect = skopeo.inspect(&format!("docker://{host}/acme/app:v1"), Some(("anyone", &jwt)));
    assert!(inspect.status.success(), "inspect: {}", String::from_utf8_lossy(&inspect.stderr));
    let outside =
        skopeo.copy(&image.reference(), &format!("docker://{host}/acme/other:v1"), Some(("ci", &jwt)));
    assert!(!outside.status.success(), "a push outside the policy must fail");
    // A JWT the issuer did not sign is a wrong password.
    let mut forged = jwt.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let refused = skopeo.inspect(&format!("docker://{host}/acme/app:v1"), Some(("ci", &forged)));
    assert!(!refused.status.success(), "a forged JWT must fail");
    stack.served.server.wait_for_lines("OIDC token refused", 1);
    stack.assert_log_clean(&jwt);
    stack.assert_log_clean(&forged);
}

#[test]
fn docker_login_with_an_oidc_jwt_then_push_and_pull() {
    let stack = Stack::start();
    let docker = Docker::start();
    let host = stack.registry.host();
    let jwt = stack.jwt();
    let login = docker.login(&host, "ci", &jwt);
    assert!(login.status.success(), "docker login: {}", describe(&login));
    let image = format!("{host}/acme/app:v1");
    let context = ScratchContext::new("FROM scratch\nCOPY rootfs/ /\n");
    context.add_file("/payload.txt", b"pushed by a workload\n");
    docker.build(context.path(), &image);
    docker.remove_on_drop(&image);
    let push = docker.run(&["push", &image], None);
    assert!(push.status.success(), "push: {}", describe(&push));
    docker.run_ok(&["image", "rm", &image]);
    let pull = docker.run(&["pull", &image], None);
    assert!(pull.status.success(), "pull: {}", describe(&pull));
    let outside = format!("{host}/acme/other:v1");
    docker.run_ok(&["tag", &image, &outside]);
    docker.remove_on_drop(&outside);
    let refused = docker.run(&["push", &outside], None);
    assert!(!refused.status.success(), "a push outside the policy must fail: {}", describe(&refused));
    std::thread::sleep(Duration::from_millis(200)); // the last log lines are flushed
    stack.assert_log_clean(&jwt);
}

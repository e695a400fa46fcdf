//! Access tokens with the real binary and the real programs: `regent token create|list|revoke`
//! against a running `regent serve` (the file reloads within about a second), Basic and the
//! password grant, a robot named in a policy, skopeo with `--creds ROBOT:SECRET`, podman login
//! with a robot token, docker login with a personal token (a push inside its scope, a refused
//! one outside), revocation, and a log of the whole run that never holds a secret.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::e2e_registry::registry_auth;
use crate::env::{SERVICE, TestEnv};
use crate::fixtures::docker::scratch::ScratchContext;
use crate::fixtures::docker::{Docker, describe};
use crate::fixtures::{
    HttpResponse, Podman, RegentServe, Registry, Skopeo, access, assert_ok, assert_refused, basic, claims,
    http_get, http_request, oci, regent, text,
};
use crate::served::{ConfigText, LIVE_WITHIN};

/// The robot `builder` may pull and push below team/.
const ROBOTS: &str =
    "[[allow]]\nwho = [\"robot:builder\"]\nrepositories = [\"team/**\"]\nactions = [\"pull\", \"push\"]\n";

/// `regent serve` with a tokens backend first, the example policies plus [`ROBOTS`].
pub(crate) struct TokenStack {
    /// The data directory.
    pub(crate) env: TestEnv,
    /// What `regent.toml` says.
    pub(crate) config: ConfigText,
    /// The running server.
    pub(crate) server: RegentServe,
}

impl TokenStack {
    pub(crate) fn start() -> Self {
        Self::start_with("")
    }

    /// Like [`TokenStack::start`], with `tables` appended to `regent.toml`.
    pub(crate) fn start_with(tables: &str) -> Self {
        let mut config = ConfigText::new();
        config.tables = tables.to_owned();
        let env = TestEnv::new(&format!("http://{}/token", config.listen));
        std::fs::write(env.config.policy.directory.join("60-robots.toml"), ROBOTS).expect("policy");
        let text = config.render().replacen(
            "[[authn]]\n",
            "[[authn]]\nname = \"tokens\"\nkind = \"tokens\"\n\n[[authn]]\n",
            1,
        );
        std::fs::write(env.config_path(), text).expect("write regent.toml");
        let server = RegentServe::serving(env.config_path(), &env.config_path().with_file_name("regent.log"));
        Self { env, config, server }
    }

    /// `regent token ARGS --config regent.toml`, successful; its stdout.
    fn token_cli(&self, args: &[&str]) -> String {
        let config = self.env.config_path().to_str().expect("utf-8");
        let mut all = vec!["token"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--config", config]);
        let out = regent(&all, Path::new("/"));
        assert!(out.status.success(), "regent {all:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// `regent token create ARGS`: the secret it printed.
    fn create(&self, args: &[&str]) -> String {
        let mut all = vec!["create"];
        all.extend_from_slice(args);
        self.token_cli(&all).trim().to_owned()
    }

    /// A started stack, a token of the robot `builder` named `name` with the scope
    /// `repository:team/app:pull,push` (live: `/token` grants with it), and registry 2.8 trusting
    /// the stack's keys.
    fn robot_builder_and_registry(name: &str) -> (Self, String, Registry) {
        let stack = Self::start();
        let builder =
            stack.create(&["--robot", "builder", "--name", name, "--scope", "repository:team/app:pull,push"]);
        stack.wait_status("builder", &builder, "repository:team/app:pull", 200);
        let registry = Registry::start(registry_auth(&stack.env));
        (stack, builder, registry)
    }

    /// `GET /token` with Basic `user:password` and `scope`.
    fn token(&self, user: &str, password: &str, scope: &str) -> HttpResponse {
        let url = format!("http://{}/token?service={SERVICE}&scope={scope}", self.config.listen);
        http_get(&url, &[("Authorization", &basic(user, password))])
    }

    /// The password grant (`POST /token`, a form).
    fn password_grant(&self, user: &str, password: &str, scope: &str) -> HttpResponse {
        let url = format!("http://{}/token", self.config.listen);
        let form = format!(
            "grant_type=password&client_id=ci&username={user}&password={password}&service={SERVICE}&scope={scope}"
        );
        http_request("POST", &url, &[("Content-Type", "application/x-www-form-urlencoded")], form.as_bytes())
    }

    /// Waits until `/token` answers `status` for these credentials (the file reloads).
    pub(crate) fn wait_status(&self, user: &str, password: &str, scope: &str, status: u16) -> HttpResponse {
        let started = Instant::now();
        loop {
            let answer = self.token(user, password, scope);
            if answer.status == status {
                return answer;
            }
            assert!(
                started.elapsed() < LIVE_WITHIN,
                "still {} after {LIVE_WITHIN:?}: {}",
                answer.status,
                answer.body
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The access a `/token` answer grants.
fn granted(answer: &HttpResponse) -> Vec<String> {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let json = answer.json();
    // GET answers `token`, the password grant `access_token`.
    let token = json["token"].as_str().or(json["access_token"].as_str());
    access(token.unwrap_or_else(|| panic!("no token in {}", answer.body)))
}

#[test]
fn tokens_from_the_cli_work_as_passwords_within_their_scopes_until_revoked() {
    let stack = TokenStack::start();
    let alice =
        stack.create(&["--owner", "alice", "--name", "ci", "--scope", "repository:alice/app:pull,push"]);
    assert!(alice.starts_with("regent_pat_"), "{alice}");
    let builder = stack.create(&[
        "--robot",
        "builder",
        "--name",
        "build farm",
        "--scope",
        "repository:team/app:pull,push",
        "--expires",
        "90d",
    ]);
    assert!(builder.starts_with("regent_rbt_"), "{builder}");

    // Live within about a second of `create`, on a server started before the file existed.
    let answer = stack.wait_status("alice", &alice, "repository:alice/app:pull,push", 200);
    assert_eq!(granted(&answer), ["repository:alice/app:pull,push"]);
    assert_eq!(claims(answer.json()["token"].as_str().unwrap())["sub"], "alice");
    assert!(
        granted(&stack.token("alice", &alice, "repository:alice/other:pull,push")).is_empty(),
        "outside its scope"
    );
    let grant = stack.password_grant("alice", &alice, "repository:alice/app:pull");
    assert_eq!(granted(&grant), ["repository:alice/app:pull"]);
    assert_eq!(stack.token("bob", &alice, "repository:alice/app:pull").status, 401, "not the owner's name");
    assert_eq!(
        stack.token("alice", "alice-pw", "repository:alice/other:pull").status,
        200,
        "passwords still work"
    );

    let robot = stack.token("builder", &builder, "repository:team/app:pull,push");
    assert_eq!(granted(&robot), ["repository:team/app:pull,push"]);
    assert_eq!(claims(robot.json()["token"].as_str().unwrap())["sub"], "robot:builder");
    assert!(granted(&stack.token("builder", &builder, "repository:team/other:pull")).is_empty());

    let listed = stack.token_cli(&["list"]);
    assert!(listed.contains("user:alice") && listed.contains("robot:builder"), "{listed}");
    assert!(!listed.contains("sha256:") && !listed.contains(&alice[11..]), "list shows no secret or hash");
    let only_alice = stack.token_cli(&["list", "--owner", "alice"]);
    assert!(!only_alice.contains("robot:builder"), "{only_alice}");
    let id = alice["regent_pat_".len()..].split('_').next().expect("id").to_owned();
    assert!(listed.contains(&id), "{listed}");
    let revoked = stack.token_cli(&["revoke", &id]);
    assert!(revoked.contains(&id), "{revoked}");
    stack.wait_status("alice", &alice, "repository:alice/app:pull", 401);
    assert_eq!(stack.token("builder", &builder, "repository:team/app:pull").status, 200, "others still work");

    let log = stack.server.log();
    for secret in [&alice, &builder] {
        assert!(
            !log.contains(secret.as_str()) && !log.contains(&secret[11..]),
            "a secret in the log:\n{log}"
        );
    }
    assert!(log.contains("regent serving"), "the log was captured:\n{log}");
}

#[test]
fn skopeo_copies_with_robot_credentials_inside_the_robots_scope_only() {
    let (stack, builder, registry) = TokenStack::robot_builder_and_registry("ci");
    let images = tempfile::tempdir().expect("tempdir");
    let image = oci::write_layout(&images.path().join("v1"), "v1", b"built by a robot\n");
    let skopeo = Skopeo::new();
    let target = |repo: &str| format!("docker://{}/{repo}", registry.host());
    let creds = Some(("builder", builder.as_str()));
    assert_ok("robot push inside its scope", &skopeo.copy(&image.reference(), &target("team/app:v1"), creds));
    assert_ok("robot inspect", &skopeo.inspect(&target("team/app:v1"), creds));
    assert_refused(
        "robot push outside its scope",
        &skopeo.copy(&image.reference(), &target("team/other:v1"), creds),
    );
    let log = stack.server.log();
    assert!(!log.contains(&builder), "the secret in the log:\n{log}");
}

#[test]
fn podman_logs_in_with_a_robot_token_and_pushes_inside_its_scope_only() {
    let (stack, builder, registry) = TokenStack::robot_builder_and_registry("podman");
    let host = registry.host();
    let images = tempfile::tempdir().expect("tempdir");
    let image = oci::write_layout(&images.path().join("v1"), "v1", b"pushed by podman as a robot\n");
    let creds = Some(("builder", builder.as_str()));
    assert_ok(
        "seed team/app",
        &Skopeo::new().copy(&image.reference(), &format!("docker://{host}/team/app:v1"), creds),
    );
    let podman = Podman::new();
    assert_ok("podman login with a robot token", &podman.login(&host, "builder", &builder));
    assert_ok("podman pull", &podman.pull(&format!("{host}/team/app:v1")));
    assert_ok("podman tag", &podman.tag(&format!("{host}/team/app:v1"), &format!("{host}/team/app:v2")));
    assert_ok(
        "podman push inside the scope",
        &podman.push(&format!("{host}/team/app:v2"), &format!("{host}/team/app:v2")),
    );
    assert_refused(
        "podman push outside the scope",
        &podman.push(&format!("{host}/team/app:v2"), &format!("{host}/team/other:v1")),
    );
    assert!(podman.logout(&host).status.success(), "podman logout");
    let log = stack.server.log();
    assert!(!log.contains(&builder), "the secret in the log:\n{log}");
}

#[test]
fn docker_login_with_a_personal_token_pushes_inside_its_scope_and_is_refused_outside() {
    let stack = TokenStack::start();
    let secret =
        stack.create(&["--owner", "alice", "--name", "laptop", "--scope", "repository:alice/app:pull,push"]);
    stack.wait_status("alice", &secret, "repository:alice/app:pull", 200);
    let registry = Registry::start(registry_auth(&stack.env));
    let docker = Docker::start();
    let host = registry.host();
    let login = docker.login(&host, "alice", &secret);
    assert!(login.status.success(), "docker login with a token: {}", describe(&login));

    let context = ScratchContext::new("FROM scratch\nCOPY rootfs/ /\n");
    context.add_file("/payload.txt", b"pushed with an access token\n");
    let inside = format!("{host}/alice/app:v1");
    let outside = format!("{host}/alice/other:v1");
    docker.build(context.path(), &inside);
    docker.run_ok(&["tag", &inside, &outside]);
    docker.remove_on_drop(&inside);
    docker.remove_on_drop(&outside);
    let push = docker.run(&["push", &inside], None);
    assert!(push.status.success(), "push inside the token's scope: {}", describe(&push));
    let refused = docker.run(&["push", &outside], None);
    assert!(!refused.status.success(), "a push outside the token's scope succeeded");
    let stderr = text(&refused.stderr).to_lowercase();
    assert!(stderr.contains("denied") || stderr.contains("unauthorized"), "{stderr}");
    assert!(docker.logout(&host).status.success());
    let log = stack.server.log();
    assert!(!log.contains(&secret), "the secret in the log:\n{log}");
}

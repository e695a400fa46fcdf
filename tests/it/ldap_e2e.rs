//! End to end with a directory: a real slapd ([`Slapd`]) behind an `[[authn]]` LDAP backend
//! written into the `regent.toml` that `init` made, regent on loopback, the real registry and
//! skopeo/podman; `/token` by hand for the outage; and the `regent authn test` binary.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::env::{
    LDAP_BACKEND, LDAP_TIMEOUT, LdapGroupSource, LdapOrder, RunningRegent, SERVICE, TestEnv, bind_realm,
};
use crate::fixtures::{HttpResponse, Podman, Registry, Skopeo, http_get, ldif, oci};
use crate::fixtures::{Slapd, assert_ok, assert_refused, run_with_timeout};

/// The slack allowed on top of the configured LDAP timeout (a generous bound; timing is noisy).
const SLACK: Duration = Duration::from_secs(5);
/// The scope of a push to the team repository (40-teams.toml grants it to group:developers).
const TEAM_PUSH: &str = "repository:team/app:pull,push";

/// slapd, regent configured with it (LDAP before or after htpasswd) and a registry trusting regent.
struct LdapStack {
    slapd: Slapd,
    /// Keeps regent's data directory alive.
    _env: TestEnv,
    regent: RunningRegent,
    registry: Registry,
    images: tempfile::TempDir,
}

impl LdapStack {
    fn start(order: LdapOrder) -> Self {
        let slapd = Slapd::start();
        let (listener, realm) = bind_realm();
        let env = TestEnv::with_ldap(&realm, &slapd, order, LdapGroupSource::MemberOf);
        let names: Vec<&str> = env.config.authn.iter().map(|authn| authn.name.as_str()).collect();
        let expected = match order {
            LdapOrder::First => [LDAP_BACKEND, "local"],
            LdapOrder::Last => ["local", LDAP_BACKEND],
        };
        assert_eq!(names, expected, "the chain as the config parser read it");
        let regent = RunningRegent::start(&env, listener, Duration::ZERO);
        let registry = Registry::start(env.registry_auth(realm));
        Self { slapd, _env: env, regent, registry, images: tempfile::tempdir().expect("tempdir") }
    }

    /// `docker://HOST/REPO` on the registry.
    fn docker(&self, repo: &str) -> String {
        format!("docker://{}/{repo}", self.registry.host())
    }

    /// A fresh local OCI image with `payload`.
    fn image(&self, tag: &str, payload: &[u8]) -> oci::OciImage {
        oci::write_layout(&self.images.path().join(tag), tag, payload)
    }

    /// `GET /token` on regent with Basic `user:password` for `scope`.
    fn token_request(&self, user: &str, password: &str, scope: &str) -> HttpResponse {
        token_request(&self.regent, user, password, scope)
    }
}

fn token_request(regent: &RunningRegent, user: &str, password: &str, scope: &str) -> HttpResponse {
    let url = format!("{}?service={SERVICE}&scope={scope}", regent.realm());
    let auth = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
    http_get(&url, &[("Authorization", &auth)])
}

/// The `access` claim of the token in a 200 answer.
fn granted(answer: &HttpResponse) -> Value {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let token = answer.json()["token"].as_str().expect("token").to_owned();
    let payload = token.split('.').nth(1).expect("JWT payload");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims");
    claims["access"].clone()
}

fn team_app(actions: &[&str]) -> Value {
    json!([{"type": "repository", "name": "team/app", "actions": actions}])
}

fn dn_of(user: &str) -> String {
    format!("uid={user},{}", ldif::PEOPLE)
}

#[test]
fn ldap_developer_pushes_to_team_and_pulls_back_and_a_user_without_groups_is_refused() {
    let stack = LdapStack::start(LdapOrder::First);
    let skopeo = Skopeo::new();
    // alice is in LDAP (password "secret", group developers) and in htpasswd ("alice-pw", no
    // groups): LDAP comes first, so its password and its groups decide.
    assert_ok("skopeo login alice", &skopeo.login(&stack.registry.host(), "alice", "secret"));
    let image = stack.image("v1", b"team bytes from an LDAP login");
    assert_ok("alice push team/app", &skopeo.copy(&image.reference(), &stack.docker("team/app:v1"), None));
    let back = format!("oci:{}:v1", stack.images.path().join("pulled").display());
    assert_ok("alice pull team/app", &skopeo.copy(&stack.docker("team/app:v1"), &back, None));
    let layers = |reference: &str| {
        let out = skopeo.inspect(reference, None);
        assert_ok(&format!("inspect {reference}"), &out);
        serde_json::from_slice::<Value>(&out.stdout).expect("inspect JSON")["Layers"].clone()
    };
    let pushed = layers(&stack.docker("team/app:v1"));
    assert_eq!(pushed.as_array().map(Vec::len), Some(1), "{pushed}");
    assert_eq!(layers(&back), pushed, "the pushed layer came back");
    assert!(stack.slapd.bind_count(&dn_of("alice")) >= 1, "alice bound against the directory");

    // bob is in LDAP with no group: read-only on team/app (20-read-only.toml), no push.
    let bob = Some(("bob", "secret2"));
    let bob_back = format!("oci:{}:v1", stack.images.path().join("bob").display());
    assert_ok("bob pull team/app", &skopeo.copy(&stack.docker("team/app:v1"), &bob_back, bob));
    let other = stack.image("v2", b"bob tries");
    assert_refused("bob push team/app", &skopeo.copy(&other.reference(), &stack.docker("team/app:v2"), bob));
    assert_eq!(granted(&stack.token_request("bob", "secret2", TEAM_PUSH)), team_app(&["pull"]));
    assert_eq!(granted(&stack.token_request("alice", "secret", TEAM_PUSH)), team_app(&["pull", "push"]));

    // podman logs in through the same chain.
    let podman = Podman::new();
    assert_ok("podman login carol", &podman.login(&stack.registry.host(), "carol", "carolpw"));
    assert_ok("podman pull team/app", &podman.pull(&format!("{}/team/app:v1", stack.registry.host())));
}

#[test]
fn a_user_only_in_htpasswd_falls_through_the_ldap_backend() {
    let stack = LdapStack::start(LdapOrder::First);
    let skopeo = Skopeo::new();
    // dev is only in htpasswd (group developers in the groups file): LDAP finds no entry.
    assert_ok("skopeo login dev", &skopeo.login(&stack.registry.host(), "dev", "dev-pw"));
    let image = stack.image("v1", b"from htpasswd");
    assert_ok("dev push team/app", &skopeo.copy(&image.reference(), &stack.docker("team/app:v1"), None));
    assert!(
        stack.slapd.log().contains("filter=\"(&(objectClass=inetOrgPerson)(uid=dev))\""),
        "the directory was asked first"
    );
    assert_eq!(stack.slapd.bind_count(&dn_of("dev")), 0);
    assert_eq!(granted(&stack.token_request("dev", "dev-pw", TEAM_PUSH)), team_app(&["pull", "push"]));
    assert_eq!(stack.token_request("dev", "wrong", TEAM_PUSH).status, 401, "htpasswd still checks");
}

#[test]
fn a_wrong_ldap_password_is_401_even_when_htpasswd_would_accept_it() {
    let stack = LdapStack::start(LdapOrder::First);
    // "alice-pw" is alice's htpasswd password; LDAP knows alice and refuses it: the chain stops.
    let answer = stack.token_request("alice", "alice-pw", TEAM_PUSH);
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(answer.json()["errors"][0]["code"], "UNAUTHORIZED", "{}", answer.body);
    assert_eq!(stack.slapd.bind_count(&dn_of("alice")), 1, "the directory checked the password");
    let out = Skopeo::new().login(&stack.registry.host(), "alice", "alice-pw");
    assert!(!out.status.success(), "skopeo login with the htpasswd password succeeded");
    assert_eq!(stack.token_request("bob", "", TEAM_PUSH).status, 401, "empty password");
    assert_eq!(stack.slapd.bind_count(&dn_of("bob")), 0, "an empty password never binds");
}

#[test]
fn with_htpasswd_first_chain_order_decides_and_ldap_only_users_still_log_in() {
    let stack = LdapStack::start(LdapOrder::Last);
    // htpasswd knows alice: her LDAP password is wrong there, and the chain stops.
    assert_eq!(stack.token_request("alice", "secret", TEAM_PUSH).status, 401);
    assert_eq!(stack.slapd.bind_count(&dn_of("alice")), 0, "LDAP was never asked");
    assert_eq!(granted(&stack.token_request("alice", "alice-pw", TEAM_PUSH)), team_app(&["pull"]));
    // carol is only in LDAP (developers, ops).
    assert_eq!(granted(&stack.token_request("carol", "carolpw", TEAM_PUSH)), team_app(&["pull", "push"]));
}

#[test]
fn slapd_stopped_answers_503_within_the_timeout_then_recovers_without_restarting_regent() {
    let mut slapd = Slapd::start();
    let (listener, realm) = bind_realm();
    let env = TestEnv::with_ldap(&realm, &slapd, LdapOrder::First, LdapGroupSource::MemberOf);
    let regent = RunningRegent::start(&env, listener, Duration::ZERO);
    // alice logs in: the service connection is pooled, her identity cached.
    assert_eq!(granted(&token_request(&regent, "alice", "secret", TEAM_PUSH)), team_app(&["pull", "push"]));

    slapd.stop();
    let started = Instant::now();
    let answer = token_request(&regent, "carol", "carolpw", TEAM_PUSH);
    let elapsed = started.elapsed();
    assert_eq!(answer.status, 503, "not 401: the password may be right: {}", answer.body);
    assert_eq!(answer.json()["errors"][0]["code"], "UNAVAILABLE", "{}", answer.body);
    assert!(elapsed < LDAP_TIMEOUT + SLACK, "503 took {elapsed:?}");
    // A wrong password cannot be told apart from a right one while the directory is down.
    assert_eq!(token_request(&regent, "bob", "wrong", TEAM_PUSH).status, 503);
    let metrics = regent.realm().replace("/token", "/metrics");
    let server_up = format!("regent_ldap_server_up{{backend=\"{LDAP_BACKEND}\",url=\"{}\"}}", slapd.url());
    assert!(http_get(&metrics, &[]).body.contains(&format!("{server_up} 0")), "marked down in /metrics");
    // alice is cached; dev is htpasswd's (after the skipped directory).
    assert_eq!(granted(&token_request(&regent, "alice", "secret", TEAM_PUSH)), team_app(&["pull", "push"]));
    assert_eq!(granted(&token_request(&regent, "dev", "dev-pw", TEAM_PUSH)), team_app(&["pull", "push"]));

    slapd.restart();
    // The directory was marked down; the background probe finds it back (within its longest
    // backoff, 10 s, plus a probe), and the same regent serves again.
    let restarted = Instant::now();
    let answer = loop {
        let answer = token_request(&regent, "carol", "carolpw", TEAM_PUSH);
        if answer.status != 503 || restarted.elapsed() > Duration::from_secs(30) {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(granted(&answer), team_app(&["pull", "push"]), "the same request, same regent");
    assert!(http_get(&metrics, &[]).body.contains(&format!("{server_up} 1")), "in use again in /metrics");
    assert_eq!(token_request(&regent, "bob", "wrong", TEAM_PUSH).status, 401);
    eprintln!("slapd down: 503 after {elapsed:?}; served again {:?} after the restart", restarted.elapsed());
}

fn regent_authn_test(config: &Path, user: &str, password: &str) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_regent"));
    command.args(["authn", "test", user, "--config"]).arg(config).env_remove("REGENT_CONFIG");
    let stdin = format!("{password}\n");
    let out = run_with_timeout(command, Duration::from_secs(60), Some(stdin.as_bytes()));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

#[test]
fn regent_authn_test_prints_each_ldap_step_and_never_a_password() {
    let mut slapd = Slapd::start();
    let env = TestEnv::with_ldap("http://127.0.0.1:5001/token", &slapd, LdapOrder::First, {
        LdapGroupSource::GroupSearch
    });
    let config = env.config_path();
    let never_printed = |text: &str| {
        for secret in ["carolpw", "not-carols", ldif::SERVICE_PASSWORD] {
            assert!(!text.contains(secret), "{secret:?} printed:\n{text}");
        }
    };

    let (status, text) = regent_authn_test(config, "carol", "carolpw");
    assert_eq!(status, Some(0), "{text}");
    let dn = dn_of("carol");
    for expected in [
        format!("backends in order: {LDAP_BACKEND}, local"),
        format!("  {LDAP_BACKEND}: connected to {} (no TLS)", slapd.url()),
        format!("{LDAP_BACKEND}: bound as the service account \"{}\"", ldif::SERVICE_DN),
        "with filter (&(objectClass=inetOrgPerson)(uid=carol))".to_owned(),
        format!("1 entry found [\"{dn}\"]"),
        format!("bind as \"{dn}\": success"),
        format!("with filter (&(objectClass=groupOfNames)(member={dn})): 2 found"),
        format!("cn=developers,{} -> \"developers\"", ldif::GROUPS),
        format!(
            "outcome: authenticated by \"{LDAP_BACKEND}\" as \"carol\", groups [\"developers\", \"ops\"]"
        ),
        format!(
            "policy subjects: user:carol user:{b}/carol group:developers group:{b}/developers group:ops \
             group:{b}/ops authenticated everyone",
            b = LDAP_BACKEND
        ),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }
    never_printed(&text);

    let (status, text) = regent_authn_test(config, "carol", "not-carols");
    assert_eq!(status, Some(1), "{text}");
    assert!(text.contains(&format!("bind as \"{dn}\": refused")), "{text}");
    assert!(text.contains("outcome: wrong password (/token answers 401)"), "{text}");
    never_printed(&text);

    slapd.stop();
    let (status, text) = regent_authn_test(config, "carol", "carolpw");
    assert_eq!(status, Some(1), "{text}");
    assert!(text.contains(&format!("cannot connect to {}", slapd.url())), "{text}");
    assert!(text.contains("(/token answers 503)"), "{text}");
    never_printed(&text);
}

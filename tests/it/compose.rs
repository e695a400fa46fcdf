//! The top-level docker-compose.yml with the real Docker engine: images built `FROM scratch`
//! from the local `regent` and Debian's `docker-registry` (nothing can be pulled), the real
//! compose file brought up with `up -d --no-build`, then the real `docker login`, `push`,
//! `pull` and `logout`, and a read-only user's refused push.
//!
//! The compose file takes everything a test must change from variables (ports, image names,
//! realm, service), so no override file is needed and no image of the machine is re-tagged.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::fixtures::docker::scratch::{ScratchContext, final_stage_on_scratch};
use crate::fixtures::docker::{ComposeProject, Docker, describe};
use crate::fixtures::{CommandTimeout, find_program, free_port, run_with_timeout};

/// The uid:gid the Dockerfile runs regent as.
const CONTAINER_USER: u32 = 10001;
const SERVICE: &str = "registry.compose.test";
const USERS: &[(&str, &str)] = &[("alice", "alice-compose-pw"), ("bob", "bob-compose-pw")];

/// The registry image's own configuration, as registry:2 ships it; compose's environment
/// variables add token auth on top.
const REGISTRY_CONFIG: &str = "\
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
";

/// The registry image: Debian's docker-registry with registry:2's config, entrypoint and volume.
const REGISTRY_DOCKERFILE: &str = "\
FROM scratch
COPY rootfs/ /
VOLUME [\"/var/lib/registry\"]
EXPOSE 5000
ENTRYPOINT [\"/usr/bin/docker-registry\"]
CMD [\"serve\", \"/etc/docker/registry/config.yml\"]
";

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `regent` binary with `args` (and `stdin`), panicking unless it succeeds.
pub(crate) fn regent(args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_regent"));
    command.args(args).env_remove("REGENT_CONFIG");
    let output = run_with_timeout(command, CommandTimeout::DEFAULT, stdin);
    assert!(output.status.success(), "regent {}: {}", args.join(" "), describe(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Gives the data directory to the container's user (as the README says: `chown -R 10001`);
/// without the privilege to, makes it readable to everyone instead (a test directory only).
pub(crate) fn own_for_container(dir: &Path) {
    let entries = walk(dir);
    let chowned = entries
        .iter()
        .all(|path| std::os::unix::fs::lchown(path, Some(CONTAINER_USER), Some(CONTAINER_USER)).is_ok());
    if !chowned {
        use std::os::unix::fs::PermissionsExt;
        for path in entries {
            let mode = if path.is_dir() { 0o777 } else { 0o666 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut paths = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() { paths.extend(walk(&path)) } else { paths.push(path) }
    }
    paths
}

/// The regent image: the real Dockerfile's final stage on scratch, with the debug binary.
pub(crate) fn build_regent_image(docker: &Docker) -> String {
    let dockerfile = std::fs::read_to_string(repo_root().join("Dockerfile")).expect("read Dockerfile");
    let (text, copied) = final_stage_on_scratch(&dockerfile);
    assert_eq!(copied, ["/usr/local/bin/regent"], "the final stage copies the binary");
    let context = ScratchContext::new(&text);
    context.add_binary(Path::new(env!("CARGO_BIN_EXE_regent")), &copied[0]);
    let tag = docker.unique_tag("regent:latest");
    docker.build(context.path(), &tag);
    tag
}

pub(crate) fn build_registry_image(docker: &Docker) -> String {
    let context = ScratchContext::new(REGISTRY_DOCKERFILE);
    context.add_binary(&find_program("docker-registry", "docker-registry"), "/usr/bin/docker-registry");
    context.add_file("/etc/docker/registry/config.yml", REGISTRY_CONFIG.as_bytes());
    context.add_file("/var/lib/registry/.keep", b"");
    let tag = docker.unique_tag("registry:2");
    docker.build(context.path(), &tag);
    tag
}

/// A one-file image `FROM scratch` tagged `tag`.
pub(crate) fn build_payload_image(docker: &Docker, tag: &str, payload: &str) {
    let context = ScratchContext::new("FROM scratch\nCOPY rootfs/ /\n");
    context.add_file("/payload.txt", payload.as_bytes());
    docker.build(context.path(), tag);
}

#[test]
fn docker_login_push_pull_and_logout_against_the_compose_stack() {
    let started = Instant::now();
    let docker = Docker::start();
    let project_dir = tempfile::Builder::new().prefix("compose-project-").tempdir().expect("temp dir");
    let data = project_dir.path().join("regent-data");
    let data_arg = data.to_string_lossy();
    let (tls_port, http_port, registry_port) = (free_port(), free_port(), free_port());
    // Clients reach the registry and /token through regent's TLS front end (docker does not
    // verify TLS on 127.0.0.0/8; skopeo and podman check it in the front-end tests).
    let realm = format!("https://127.0.0.1:{tls_port}/token");

    // The data directory, as the README's compose section makes it (inside the container regent
    // listens on every interface; compose publishes the ports on 127.0.0.1 only).
    let init_out = regent(
        &["init", "--dir", &data_arg, "--listen", "0.0.0.0:5001", "--service", SERVICE, "--realm", &realm]
            .into_iter()
            .chain(["--host", "127.0.0.1", "--upstream", "http://registry:5000", "--key-type", "ec"])
            .collect::<Vec<_>>(),
        None,
    );
    assert!(init_out.contains("/etc/docker/certs.d/127.0.0.1:5443/ca.crt"), "{init_out}");
    let config = data.join("regent.toml");
    let config_arg = config.to_string_lossy();
    for (user, password) in USERS {
        regent(
            &["passwd", "--config", &config_arg, "--cost", "4", user],
            Some(format!("{password}\n").as_bytes()),
        );
    }
    own_for_container(&data);
    let prepared = started.elapsed();

    let regent_image = build_regent_image(&docker);
    let registry_image = build_registry_image(&docker);
    let built = started.elapsed();

    let env = [
        ("REGENT_IMAGE", regent_image),
        ("REGISTRY_IMAGE", registry_image),
        ("REGENT_PUBLISH", format!("127.0.0.1:{tls_port}")),
        ("REGENT_HTTP_PUBLISH", format!("127.0.0.1:{http_port}")),
        ("REGISTRY_PUBLISH", format!("127.0.0.1:{registry_port}")),
        ("REGENT_REALM", realm.clone()),
        ("REGENT_SERVICE", SERVICE.to_owned()),
    ];
    let project =
        ComposeProject::up(&docker, &repo_root().join("docker-compose.yml"), project_dir.path(), &env);
    let timeout = Duration::from_secs(30);
    project.wait_for(&format!("http://127.0.0.1:{http_port}/healthz"), 200, timeout);
    project.wait_for(&format!("http://127.0.0.1:{registry_port}/v2/"), 401, timeout);
    let up = started.elapsed();

    // Everything goes through regent's TLS port: /token in-process, /v2/ proxied to the registry.
    let host = format!("127.0.0.1:{tls_port}");
    let image = format!("{host}/alice/hello:v1");
    build_payload_image(&docker, &image, "hello from alice\n");
    let pushed_id = docker.image_id(&image).expect("the payload image exists");
    let logs = || project.logs();

    let login = docker.login(&host, "alice", USERS[0].1);
    assert!(login.status.success(), "alice's login: {}\n{}", describe(&login), logs());
    let auths = std::fs::read_to_string(docker.config_dir().join("config.json")).expect("config.json");
    assert!(auths.contains(&host), "docker stored the login: {auths}");
    let push = docker.run(&["push", &image], None);
    assert!(push.status.success(), "alice's push: {}\n{}", describe(&push), logs());
    docker.run_ok(&["image", "rm", &image]);
    assert_eq!(docker.image_id(&image), None);
    let pull = docker.run(&["pull", &image], None);
    assert!(pull.status.success(), "alice's pull: {}\n{}", describe(&pull), logs());
    assert_eq!(docker.image_id(&image).as_deref(), Some(pushed_id.as_str()), "the same image came back");

    // bob may pull everything but push only to bob/**.
    let login = docker.login(&host, "bob", USERS[1].1);
    assert!(login.status.success(), "bob's login: {}\n{}", describe(&login), logs());
    let pull = docker.run(&["pull", &image], None);
    assert!(pull.status.success(), "bob's pull: {}\n{}", describe(&pull), logs());
    let bobs = format!("{host}/alice/hello:by-bob");
    build_payload_image(&docker, &bobs, "bob was here\n");
    let refused = docker.run(&["push", &bobs], None);
    assert!(!refused.status.success(), "bob's push into alice/ must fail: {}", describe(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("denied") || stderr.contains("unauthorized"), "{}", describe(&refused));
    let wrong_password = docker.login(&host, "bob", "not-bobs-password");
    assert!(!wrong_password.status.success(), "a wrong password: {}", describe(&wrong_password));

    let logout = docker.logout(&host);
    assert!(logout.status.success(), "logout: {}", describe(&logout));
    let auths = std::fs::read_to_string(docker.config_dir().join("config.json")).expect("config.json");
    assert!(!auths.contains(&host), "logout removed the credentials: {auths}");
    // Nothing of bob's reached the registry: alice (logged in again) finds no such tag.
    assert!(docker.login(&host, "alice", USERS[0].1).status.success());
    let missing = docker.run(&["pull", &bobs], None);
    assert!(!missing.status.success(), "bob's image must not exist: {}", describe(&missing));
    assert!(docker.logout(&host).status.success());

    let done = started.elapsed();
    eprintln!(
        "compose test timings: data dir {prepared:?}, images {:?}, up {:?}, clients {:?}, total {done:?} \
         (project {})",
        built - prepared,
        up - built,
        done - up,
        project.name()
    );
}

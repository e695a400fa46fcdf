//! The Docker engine variant: three regent containers (the `FROM scratch` image of the compose
//! test, one identical `regent.toml`, read-only root file systems, the data directory mounted
//! read-only in two of them) and registry 2.8 in a container, with HAProxy on the host in front
//! of their published loopback ports; the real `docker login`, push and pull through it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::compose::{
    build_payload_image, build_regent_image, build_registry_image, own_for_container, regent,
};
use crate::fixtures::docker::{ComposeProject, Docker, describe};
use crate::fixtures::{Haproxy, free_port};

const SERVICE: &str = "registry.replicas.test";
const PASSWORD: &str = "alice-replicas-pw";
/// The replicas' compose services, in HAProxy's order (`r1`, `r2`, `r3`).
const REPLICAS: [&str; 3] = ["regent1", "regent2", "regent3"];

/// The project: the registry and three regent services, each from the same image and config;
/// only regent1 may write the data directory (it needs not: the CLI writes it on the host).
const COMPOSE_FILE: &str = r#"
services:
  registry:
    image: ${REGISTRY_IMAGE}
    environment:
      REGISTRY_HTTP_ADDR: "0.0.0.0:5000"
      REGISTRY_AUTH: token
      REGISTRY_AUTH_TOKEN_REALM: ${REGENT_REALM}
      REGISTRY_AUTH_TOKEN_SERVICE: ${REGENT_SERVICE}
      REGISTRY_AUTH_TOKEN_ISSUER: regent
      REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE: /etc/regent/keys/token.crt
    ports: ["${REGISTRY_PUBLISH}:5000"]
    volumes: ["./regent-data/keys:/etc/regent/keys:ro"]
  regent1:
    image: ${REGENT_IMAGE}
    read_only: true
    ports: ["${REGENT1_PUBLISH}:5001"]
    volumes: ["./regent-data:/etc/regent"]
  regent2:
    image: ${REGENT_IMAGE}
    read_only: true
    ports: ["${REGENT2_PUBLISH}:5001"]
    volumes: ["./regent-data:/etc/regent:ro"]
  regent3:
    image: ${REGENT_IMAGE}
    read_only: true
    ports: ["${REGENT3_PUBLISH}:5001"]
    volumes: ["./regent-data:/etc/regent:ro"]
"#;

/// How many `token issued` lines with `grant=GRANT` the service's log holds.
fn issued(project: &ComposeProject<'_>, service: &str, grant: &str) -> usize {
    let output = project.run(&["logs", "--no-color", service]);
    let log = String::from_utf8_lossy(&output.stdout).replace('"', "");
    log.lines()
        .filter(|line| line.contains("token issued") && line.contains(&format!("grant={grant}")))
        .count()
}

/// Whether `service`'s container mounts `/etc/regent` writable, and whether its root file
/// system is read-only, as the engine reports them.
fn mounts(docker: &Docker, project: &ComposeProject<'_>, service: &str) -> (bool, bool) {
    let id = project.run(&["ps", "-q", service]);
    let id = String::from_utf8_lossy(&id.stdout).trim().to_owned();
    let format = r#"{{range .Mounts}}{{if eq .Destination "/etc/regent"}}{{.RW}}{{end}}{{end}} {{.HostConfig.ReadonlyRootfs}}"#;
    let output = docker.run_ok(&["inspect", "--format", format, &id]);
    let text = String::from_utf8_lossy(&output.stdout);
    let (writable, read_only_root) = text.trim().split_once(' ').unwrap_or_else(|| panic!("inspect: {text}"));
    (writable == "true", read_only_root == "true")
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn docker_login_push_and_pull_through_haproxy_and_three_containers() {
    let started = Instant::now();
    let docker = Docker::start();
    let project_dir = tempfile::Builder::new().prefix("replicas-compose-").tempdir().expect("temp dir");
    let data = project_dir.path().join("regent-data");
    let replica_ports = [free_port(), free_port(), free_port()];
    let registry_port = free_port();
    let haproxy = Haproxy::start(&replica_ports.map(loopback), Some(loopback(registry_port)));
    let realm = format!("{}/token", haproxy.url());

    let data_arg = data.to_string_lossy();
    let init =
        ["init", "--dir", &data_arg, "--listen", "0.0.0.0:5001", "--service", SERVICE, "--realm", &realm];
    regent(&init, None);
    let config = data.join("regent.toml").to_string_lossy().into_owned();
    regent(
        &["passwd", "--config", &config, "--cost", "4", "alice"],
        Some(format!("{PASSWORD}\n").as_bytes()),
    );
    own_for_container(&data);
    std::fs::write(project_dir.path().join("compose.yml"), COMPOSE_FILE).expect("write compose.yml");
    let (regent_image, registry_image) = (build_regent_image(&docker), build_registry_image(&docker));
    let built = started.elapsed();

    let publish = |port: u16| format!("127.0.0.1:{port}");
    let env = [
        ("REGENT_IMAGE", regent_image),
        ("REGISTRY_IMAGE", registry_image),
        ("REGENT_REALM", realm.clone()),
        ("REGENT_SERVICE", SERVICE.to_owned()),
        ("REGISTRY_PUBLISH", publish(registry_port)),
        ("REGENT1_PUBLISH", publish(replica_ports[0])),
        ("REGENT2_PUBLISH", publish(replica_ports[1])),
        ("REGENT3_PUBLISH", publish(replica_ports[2])),
    ];
    let project =
        ComposeProject::up(&docker, &project_dir.path().join("compose.yml"), project_dir.path(), &env);
    project.wait_for(&format!("http://127.0.0.1:{registry_port}/v2/"), 401, Duration::from_secs(30));
    haproxy.wait_all_up(Duration::from_secs(30));
    let up = started.elapsed();
    for (service, data_writable) in REPLICAS.iter().zip([true, false, false]) {
        assert_eq!(
            mounts(&docker, &project, service),
            (data_writable, true),
            "{service}: (data dir writable, root read-only)"
        );
    }

    // docker login, push and pull, all through HAProxy.
    let host = haproxy.host();
    let image = format!("{host}/alice/hello:v1");
    build_payload_image(&docker, &image, "hello from three replicas\n");
    let pushed_id = docker.image_id(&image).expect("the payload image exists");
    let login = docker.login(&host, "alice", PASSWORD);
    assert!(login.status.success(), "docker login: {}\n{}", describe(&login), project.logs());
    let push = docker.run(&["push", &image], None);
    assert!(push.status.success(), "docker push: {}\n{}", describe(&push), project.logs());
    docker.run_ok(&["image", "rm", &image]);
    let pull = docker.run(&["pull", &image], None);
    assert!(pull.status.success(), "docker pull: {}\n{}", describe(&pull), project.logs());
    assert_eq!(docker.image_id(&image).as_deref(), Some(pushed_id.as_str()), "the same image came back");

    // The login was one password grant on one replica; every later token was a refresh grant
    // (docker keeps the identity token). A few more pulls reach every replica round robin.
    let logins: Vec<usize> = REPLICAS.iter().map(|service| issued(&project, service, "password")).collect();
    assert_eq!(logins.iter().sum::<usize>(), 1, "one password grant (the login): {logins:?}");
    let login_replica = logins.iter().position(|&count| count == 1).expect("the login's replica");
    let refreshes = || REPLICAS.map(|service| issued(&project, service, "refresh"));
    for _ in 0..6 {
        if refreshes().iter().all(|&count| count > 0) {
            break;
        }
        let pull = docker.run(&["pull", &image], None);
        assert!(pull.status.success(), "docker pull: {}\n{}", describe(&pull), project.logs());
    }
    let refreshed = refreshes();
    for (index, service) in REPLICAS.iter().enumerate().filter(|(index, _)| *index != login_replica) {
        assert!(refreshed[index] > 0, "{service} served no refresh grant: {refreshed:?}\n{}", project.logs());
    }
    let logout = docker.logout(&host);
    assert!(logout.status.success(), "docker logout: {}", describe(&logout));
    eprintln!(
        "replicas on docker: login on {}, refresh grants per replica {refreshed:?}; images {built:?}, up {:?}, \
         clients {:?}",
        REPLICAS[login_replica],
        up - built,
        started.elapsed() - up
    );
}

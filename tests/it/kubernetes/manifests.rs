//! The rendered objects say what the README promises: three spread replicas, the probes, a
//! hardened container, read-only whole-directory mounts of objects that exist, a disruption
//! budget and a Service that select the pods, and no API token in the pods.

use k8s_openapi::api::core::v1::{Probe, SecurityContext};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::objects::{Object, kind, name, parse_strict};
use super::pod::{deployment, pod_spec};
use super::{prepared, rendered};

/// The pod label every selector uses.
const LABEL: (&str, &str) = ("app.kubernetes.io/name", "regent");

/// The (kind, name) of every object, sorted; generated names lose their hash suffix.
fn kinds_and_names(objects: &[Object]) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = objects
        .iter()
        .map(|object| {
            let kind = kind(object).to_owned();
            let name = name(object);
            let base = match name.rsplit_once('-') {
                Some((base, hash)) if hash.len() == 10 && hash.chars().all(|c| c.is_ascii_alphanumeric()) => {
                    base
                }
                _ => name,
            };
            (kind, base.to_owned())
        })
        .collect();
    found.sort();
    found
}

#[test]
fn every_rendered_object_parses_strictly_into_the_kubernetes_types() {
    let deploy = prepared();
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut list: Vec<_> = list.iter().map(|(k, n)| ((*k).to_owned(), (*n).to_owned())).collect();
        list.sort();
        list
    };
    let regent = [
        ("ConfigMap", "regent-config"),
        ("ConfigMap", "regent-policies"),
        ("ConfigMap", "regent-revocations"),
        ("Deployment", "regent"),
        ("PodDisruptionBudget", "regent"),
        ("Secret", "regent-keys"),
        ("Secret", "regent-users"),
        ("Service", "regent"),
        ("ServiceAccount", "regent"),
    ];
    assert_eq!(kinds_and_names(&rendered(&deploy, "overlays/htpasswd")), pairs(&regent));
    let ldap = [&regent[..], &[("Secret", "regent-ldap")]].concat();
    assert_eq!(kinds_and_names(&rendered(&deploy, "overlays/ldap")), pairs(&ldap));
    let registry = [
        ("ConfigMap", "registry-config"),
        ("Deployment", "registry"),
        ("Ingress", "registry"),
        ("PersistentVolumeClaim", "registry-data"),
        ("Service", "registry"),
    ];
    assert_eq!(kinds_and_names(&rendered(&deploy, "registry")), pairs(&registry));
}

#[test]
fn a_mistyped_or_misplaced_field_is_refused() {
    let deploy = prepared();
    let values = deploy.render("overlays/htpasswd");
    let original = values.iter().find(|v| v["kind"] == "Deployment").expect("the Deployment").clone();
    parse_strict(&original).expect("the rendered Deployment is valid");
    let container = |value: &mut Value| -> serde_json::Map<String, Value> {
        value["spec"]["template"]["spec"]["containers"][0].as_object().expect("a container").clone()
    };

    // A misspelt key: the type ignores it, the round trip shows it.
    let mut misspelt = original.clone();
    let mut fields = container(&mut misspelt);
    let probe = fields.remove("readinessProbe").expect("a readiness probe");
    fields.insert("readinessprobe".to_owned(), probe);
    misspelt["spec"]["template"]["spec"]["containers"][0] = Value::Object(fields);
    let error = parse_strict(&misspelt).expect_err("a misspelt field");
    assert!(error.contains(".spec.template.spec.containers[0].readinessprobe is dropped"), "{error}");

    // A container-only field in the pod's securityContext.
    let mut misplaced = original.clone();
    misplaced["spec"]["template"]["spec"]["securityContext"]["readOnlyRootFilesystem"] = Value::Bool(true);
    let error = parse_strict(&misplaced).expect_err("a misplaced field");
    assert!(error.contains("securityContext.readOnlyRootFilesystem is dropped"), "{error}");

    // A value of the wrong type fails the parse itself.
    let mut mistyped = original;
    mistyped["spec"]["replicas"] = Value::String("three".to_owned());
    assert!(parse_strict(&mistyped).is_err(), "replicas: \"three\" parsed");
}

/// The probe's HTTP path and the container port it names.
fn http_probe(probe: Option<&Probe>) -> (String, String) {
    let action = probe.and_then(|p| p.http_get.as_ref()).expect("an httpGet probe");
    let port = match &action.port {
        IntOrString::String(name) => name.clone(),
        IntOrString::Int(number) => number.to_string(),
    };
    (action.path.clone().expect("a path"), port)
}

fn assert_hardened(context: Option<&SecurityContext>) {
    let context = context.expect("a container securityContext");
    assert_eq!(context.allow_privilege_escalation, Some(false));
    assert_eq!(context.read_only_root_filesystem, Some(true));
    assert_eq!(context.run_as_non_root, Some(true));
    assert_eq!(context.privileged, Some(false));
    let drop = context.capabilities.as_ref().and_then(|c| c.drop.clone());
    assert_eq!(drop, Some(vec!["ALL".to_owned()]));
    assert!(context.capabilities.as_ref().is_some_and(|c| c.add.is_none()), "no capability added");
    assert_eq!(context.seccomp_profile.as_ref().map(|p| p.type_.as_str()), Some("RuntimeDefault"));
}

#[test]
fn the_regent_deployment_is_spread_probed_hardened_and_budgeted() {
    let deploy = prepared();
    for overlay in ["overlays/htpasswd", "overlays/ldap"] {
        let objects = rendered(&deploy, overlay);
        let regent = deployment(&objects, "regent");
        let spec = regent.spec.as_ref().expect("spec");
        assert_eq!(spec.replicas, Some(3), "{overlay}");
        let labels = spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).expect("pod labels");
        assert_eq!(labels.get(LABEL.0).map(String::as_str), Some(LABEL.1));
        let selects_pods = |selector: Option<&std::collections::BTreeMap<String, String>>| {
            selector.is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| labels.get(k) == Some(v)))
        };
        assert!(selects_pods(spec.selector.match_labels.as_ref()), "{overlay}: the Deployment's selector");
        let pod = pod_spec(regent);

        let anti = pod.affinity.as_ref().and_then(|a| a.pod_anti_affinity.as_ref()).expect("anti-affinity");
        let terms =
            anti.preferred_during_scheduling_ignored_during_execution.as_ref().expect("preferred terms");
        let term = &terms[0].pod_affinity_term;
        assert_eq!(term.topology_key, "kubernetes.io/hostname");
        let term_labels = term.label_selector.as_ref().and_then(|s| s.match_labels.as_ref());
        assert!(selects_pods(term_labels), "{overlay}: the anti-affinity term selects regent's own pods");

        let pod_context = pod.security_context.as_ref().expect("a pod securityContext");
        assert_eq!((pod_context.run_as_non_root, pod_context.run_as_user), (Some(true), Some(10001)));
        assert_eq!((pod_context.run_as_group, pod_context.fs_group), (Some(10001), Some(10001)));
        assert_eq!(pod_context.seccomp_profile.as_ref().map(|p| p.type_.as_str()), Some("RuntimeDefault"));
        assert_eq!(pod.automount_service_account_token, Some(false));
        assert_eq!(pod.service_account_name.as_deref(), Some("regent"));
        let account = objects.iter().find_map(|o| match o {
            Object::ServiceAccount(a) if a.metadata.name.as_deref() == Some("regent") => Some(a),
            _ => None,
        });
        assert_eq!(account.expect("the ServiceAccount").automount_service_account_token, Some(false));

        assert_eq!(pod.containers.len(), 1);
        let container = &pod.containers[0];
        assert_hardened(container.security_context.as_ref());
        let ports = container.ports.as_ref().expect("ports");
        assert_eq!((ports[0].name.as_deref(), ports[0].container_port), (Some("http"), 5001));
        let readiness = http_probe(container.readiness_probe.as_ref());
        assert_eq!(readiness, ("/readyz?exclude=backends".to_owned(), "http".to_owned()));
        assert_eq!(http_probe(container.liveness_probe.as_ref()), ("/healthz".to_owned(), "http".to_owned()));
        let resources = container.resources.as_ref().expect("resources");
        for part in [&resources.requests, &resources.limits] {
            let part = part.as_ref().expect("requests and limits");
            assert!(part.contains_key("cpu") && part.contains_key("memory"), "{overlay}: {part:?}");
        }

        let volumes = pod.volumes.as_ref().expect("volumes");
        let mounts = container.volume_mounts.as_ref().expect("mounts");
        assert_eq!(mounts.len(), volumes.len(), "{overlay}: every volume is mounted");
        let mut expected = vec!["config", "keys", "users", "policies", "revocations"];
        if overlay.ends_with("ldap") {
            expected.push("ldap");
        }
        let mut mounted: Vec<&str> = mounts.iter().map(|m| m.name.as_str()).collect();
        mounted.sort_unstable();
        expected.sort_unstable();
        assert_eq!(mounted, expected, "{overlay}");
        for mount in mounts {
            assert_eq!(mount.read_only, Some(true), "{overlay}: {} read-only", mount.name);
            assert!(mount.sub_path.is_none(), "{overlay}: {}: a subPath mount is never updated", mount.name);
            assert_eq!(mount.mount_path, format!("/etc/regent/{}", mount.name));
            let volume = volumes.iter().find(|v| v.name == mount.name).expect("the mounted volume");
            let (source, mode) = match (&volume.config_map, &volume.secret) {
                (Some(map), None) => (map.name.clone(), map.default_mode),
                (None, Some(secret)) => {
                    (secret.secret_name.clone().expect("secretName"), secret.default_mode)
                }
                _ => panic!("{overlay}: {} is neither a ConfigMap nor a Secret", volume.name),
            };
            assert!(objects.iter().any(|o| name(o) == source), "{overlay}: {source} is rendered");
            let secret = volume.secret.is_some();
            assert_eq!(mode, Some(if secret { 0o440 } else { 0o444 }), "{overlay}: {}", volume.name);
        }
        assert!(volumes.iter().any(|v| v.name == "users" && v.secret.is_some()), "htpasswd is a Secret");

        let budget = objects.iter().find_map(|o| match o {
            Object::PodDisruptionBudget(b) => Some(b),
            _ => None,
        });
        let budget = budget.and_then(|b| b.spec.clone()).expect("a PodDisruptionBudget");
        assert_eq!(budget.max_unavailable, Some(IntOrString::Int(1)));
        assert!(selects_pods(budget.selector.as_ref().and_then(|s| s.match_labels.as_ref())));

        let service = objects.iter().find_map(|o| match o {
            Object::Service(s) => s.spec.clone(),
            _ => None,
        });
        let service = service.expect("a Service");
        assert!(selects_pods(service.selector.as_ref()), "{overlay}: the Service selects the pods");
        let port = &service.ports.as_ref().expect("service ports")[0];
        assert_eq!(
            (port.port, port.target_port.clone()),
            (5001, Some(IntOrString::String("http".to_owned())))
        );
    }
}

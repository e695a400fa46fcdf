//! The files of one regent pod, laid out under a temporary root as the kubelet mounts them: each
//! ConfigMap and Secret volume of the rendered Deployment at its container mountPath (under the
//! root), filled from the rendered object it names, with the volume's defaultMode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec};
use tempfile::TempDir;

use super::kubelet::ProjectedVolume;
use super::objects::{Object, name, payload};

/// One volume: where it is mounted, and the ConfigMap or Secret it projects.
#[derive(Debug)]
struct Mounted {
    /// The laid-out files.
    volume: ProjectedVolume,
    /// The name of the ConfigMap or Secret.
    source: String,
    /// Its files as rendered (before a test's edit).
    rendered: BTreeMap<String, Vec<u8>>,
}

/// A regent pod's mounted files and its container's command line.
#[derive(Debug)]
pub struct PodFiles {
    /// The root standing for the container's `/`.
    root: TempDir,
    /// The container, as rendered.
    container: Container,
    /// Volumes by name.
    volumes: BTreeMap<String, Mounted>,
}

/// The one Deployment named `name` in `objects`.
pub fn deployment<'a>(objects: &'a [Object], name: &str) -> &'a Deployment {
    let found: Vec<&Deployment> = objects
        .iter()
        .filter_map(|object| match object {
            Object::Deployment(d) if d.metadata.name.as_deref() == Some(name) => Some(&**d),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one Deployment {name}");
    found[0]
}

/// The pod template's spec of `deployment`.
pub fn pod_spec(deployment: &Deployment) -> &PodSpec {
    let spec = deployment.spec.as_ref().expect("spec");
    spec.template.spec.as_ref().expect("template spec")
}

impl PodFiles {
    /// Lays out every ConfigMap and Secret volume of the Deployment `deployment_name`'s first
    /// container; `edit` may change a volume's payload first (by volume name).
    pub fn lay_out(
        objects: &[Object],
        deployment_name: &str,
        edit: impl Fn(&str, &mut BTreeMap<String, Vec<u8>>),
    ) -> PodFiles {
        let pod = pod_spec(deployment(objects, deployment_name));
        let container = pod.containers[0].clone();
        let root = tempfile::Builder::new().prefix("pod-").tempdir().expect("tempdir");
        let mut volumes = BTreeMap::new();
        for mount in container.volume_mounts.iter().flatten() {
            let volume =
                pod.volumes.iter().flatten().find(|v| v.name == mount.name).expect("mounted volume exists");
            let (source, mode) = if let Some(map) = &volume.config_map {
                (map.name.clone(), map.default_mode)
            } else if let Some(secret) = &volume.secret {
                (secret.secret_name.clone().expect("secretName"), secret.default_mode)
            } else {
                continue;
            };
            let object = objects.iter().find(|object| name(object) == source).expect("the volume's object");
            let rendered = payload(object);
            let mut files = rendered.clone();
            edit(&volume.name, &mut files);
            let mode = u32::try_from(mode.unwrap_or(0o644)).expect("mode");
            let dir = under(root.path(), &mount.mount_path);
            let volume_files = ProjectedVolume::create(&dir, &files, mode);
            volumes.insert(volume.name.clone(), Mounted { volume: volume_files, source, rendered });
        }
        PodFiles { root, container, volumes }
    }

    /// Where the container path `path` is under the root.
    pub fn host_path(&self, path: &str) -> PathBuf {
        under(self.root.path(), path)
    }

    /// The mount point of the volume `volume` under the root.
    pub fn mount_dir(&self, volume: &str) -> &Path {
        self.volumes.get(volume).unwrap_or_else(|| panic!("no volume {volume}")).volume.dir()
    }

    /// The container's args, absolute paths moved under the root.
    pub fn args(&self) -> Vec<String> {
        let args = self.container.args.iter().flatten();
        args.map(
            |arg| if arg.starts_with('/') { self.host_path(arg).display().to_string() } else { arg.clone() },
        )
        .collect()
    }

    /// The container's plain environment variables.
    pub fn env(&self) -> Vec<(String, String)> {
        let env = self.container.env.iter().flatten();
        env.map(|var| (var.name.clone(), var.value.clone().expect("plain values only"))).collect()
    }

    /// Updates every volume whose object in `objects` (a new render) has other files than it
    /// had, as the kubelet does after `kubectl apply` (an object with a new name, a hash
    /// suffix, is a rollout instead: skipped); returns the names of the volumes swapped.
    pub fn update_from(&mut self, objects: &[Object]) -> Vec<String> {
        let mut swapped = Vec::new();
        for (volume_name, mounted) in &mut self.volumes {
            let Some(object) = objects.iter().find(|object| name(object) == mounted.source) else {
                continue;
            };
            let files = payload(object);
            if files != mounted.rendered {
                mounted.volume.update(&files);
                mounted.rendered = files;
                swapped.push(volume_name.clone());
            }
        }
        swapped
    }

    /// Every path under the root (for checking that regent writes nothing).
    pub fn listing(&self) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        walk(self.root.path(), &mut paths);
        paths.sort();
        paths
    }
}

/// `path` (absolute in the container) under `root`.
fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

fn walk(dir: &Path, paths: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a directory") {
        let entry = entry.expect("entry");
        paths.push(entry.path());
        if entry.file_type().expect("file type").is_dir() {
            walk(&entry.path(), paths);
        }
    }
}

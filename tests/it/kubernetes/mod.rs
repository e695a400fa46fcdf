//! deploy/kubernetes/: what can be real without a cluster. The overlays and the registry's
//! kustomization render with `kubectl kustomize`; every object parses strictly into the
//! `k8s-openapi` types ([`objects`]); the Deployment's probes, security contexts, spread,
//! volumes and mounts are asserted ([`manifests`]); the rendered files laid out as the kubelet
//! mounts them ([`kubelet`], [`pod`]) are what the real `regent` checks and serves
//! ([`serve`], [`ldap`]), including the kubelet's `..data` symlink swap of updated ConfigMaps
//! and Secrets ([`swap`]); and the registry's `auth.token` wiring works with the real registry
//! ([`registry`]).

mod kubelet;
mod ldap;
mod manifests;
mod objects;
mod pod;
mod registry;
mod render;
mod serve;
mod swap;

use objects::{Object, parse_all};
use render::{Deploy, LdapSecret};

/// A CA certificate for the LDAP overlay's Secret where no directory is asked.
fn unused_ldap_secret() -> LdapSecret {
    let ca = rcgen::generate_simple_self_signed(vec!["ldap.example.org".to_owned()]).expect("a CA");
    LdapSecret { ca_pem: ca.cert.pem(), bind_password: "not-asked".to_owned() }
}

/// deploy/kubernetes/ prepared with an LDAP Secret that is never used.
fn prepared() -> Deploy {
    Deploy::prepare(&unused_ldap_secret())
}

/// `kubectl kustomize deploy/KUSTOMIZATION`, every object parsed strictly.
fn rendered(deploy: &Deploy, kustomization: &str) -> Vec<Object> {
    parse_all(&deploy.render(kustomization))
}

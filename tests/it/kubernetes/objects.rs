//! Every rendered object parsed into the `k8s-openapi` type of its `apiVersion` and `kind`, and
//! refused when anything in it is not a field of that type.
//!
//! k8s-openapi's types ignore unknown fields, as the API server's lenient decoding does. So the
//! parsed object is serialized again and compared with the rendered value: a field that is
//! misspelt (`readinessprobe`) or in the wrong place (`readOnlyRootFilesystem` in the pod's
//! securityContext) is missing from the round trip and named in the error.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A rendered object of one of the kinds deploy/kubernetes/ uses.
#[derive(Debug)]
pub enum Object {
    /// `apps/v1` Deployment.
    Deployment(Box<Deployment>),
    /// `v1` Service.
    Service(Box<Service>),
    /// `policy/v1` PodDisruptionBudget.
    PodDisruptionBudget(Box<PodDisruptionBudget>),
    /// `v1` ConfigMap.
    ConfigMap(Box<ConfigMap>),
    /// `v1` Secret.
    Secret(Box<Secret>),
    /// `v1` ServiceAccount.
    ServiceAccount(Box<ServiceAccount>),
    /// `v1` PersistentVolumeClaim.
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
    /// `networking.k8s.io/v1` Ingress.
    Ingress(Box<Ingress>),
}

/// Parses `value` into its type; an unknown kind, a value of the wrong type, or a field the
/// type does not have is an error naming where.
pub fn parse_strict(value: &Value) -> Result<Object, String> {
    let api_version = value["apiVersion"].as_str().unwrap_or_default();
    let kind = value["kind"].as_str().unwrap_or_default();
    Ok(match (api_version, kind) {
        ("apps/v1", "Deployment") => Object::Deployment(strict(value)?),
        ("v1", "Service") => Object::Service(strict(value)?),
        ("policy/v1", "PodDisruptionBudget") => Object::PodDisruptionBudget(strict(value)?),
        ("v1", "ConfigMap") => Object::ConfigMap(strict(value)?),
        ("v1", "Secret") => Object::Secret(strict(&unfolded_secret(value))?),
        ("v1", "ServiceAccount") => Object::ServiceAccount(strict(value)?),
        ("v1", "PersistentVolumeClaim") => Object::PersistentVolumeClaim(strict(value)?),
        ("networking.k8s.io/v1", "Ingress") => Object::Ingress(strict(value)?),
        _ => return Err(format!("unexpected object {api_version:?} {kind:?}")),
    })
}

/// A Secret with the line breaks kustomize folds long base64 `data` values with removed: the
/// API server's decoder (Go's encoding/base64) skips them, k8s-openapi's does not.
fn unfolded_secret(value: &Value) -> Value {
    let mut value = value.clone();
    if let Some(data) = value.get_mut("data").and_then(Value::as_object_mut) {
        for encoded in data.values_mut() {
            if let Value::String(text) = encoded {
                text.retain(|c| c != '\n' && c != '\r');
            }
        }
    }
    value
}

/// `value` as a `T`, and back: every difference is a field `T` does not know.
fn strict<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Box<T>, String> {
    let name = value["metadata"]["name"].as_str().unwrap_or("?");
    let parsed: T = serde_json::from_value(value.clone()).map_err(|error| format!("{name}: {error}"))?;
    let again = serde_json::to_value(&parsed).map_err(|error| format!("{name}: {error}"))?;
    let mut differences = Vec::new();
    compare(value, &again, String::new(), &mut differences);
    if differences.is_empty() {
        Ok(Box::new(parsed))
    } else {
        Err(format!("{name}: not fields of the type (or in the wrong place): {}", differences.join("; ")))
    }
}

/// Collects where `rendered` and `round_trip` differ. Scalars compare by their text, since the
/// types turn some numbers into strings (`cpu: 2` is the quantity "2").
fn compare(rendered: &Value, round_trip: &Value, at: String, differences: &mut Vec<String>) {
    match (rendered, round_trip) {
        (Value::Object(left), Value::Object(right)) => {
            for (key, value) in left {
                let path = format!("{at}.{key}");
                match right.get(key) {
                    Some(other) => compare(value, other, path, differences),
                    None => differences.push(format!("{path} is dropped")),
                }
            }
            for key in right.keys().filter(|key| !left.contains_key(*key)) {
                differences.push(format!("{at}.{key} is added"));
            }
        }
        (Value::Array(left), Value::Array(right)) if left.len() == right.len() => {
            for (index, (value, other)) in left.iter().zip(right).enumerate() {
                compare(value, other, format!("{at}[{index}]"), differences);
            }
        }
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => {
            differences.push(format!("{at} differs: {rendered} vs {round_trip}"));
        }
        _ if scalar_text(rendered) == scalar_text(round_trip) => {}
        _ => differences.push(format!("{at} differs: {rendered} vs {round_trip}")),
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Every rendered object parsed strictly; panics naming each one that fails.
pub fn parse_all(values: &[Value]) -> Vec<Object> {
    let (parsed, failed): (Vec<_>, Vec<_>) = values.iter().map(parse_strict).partition(Result::is_ok);
    let failed: Vec<String> = failed.into_iter().filter_map(Result::err).collect();
    assert!(
        failed.is_empty(),
        "rendered objects that are not valid Kubernetes objects:\n{}",
        failed.join("\n")
    );
    parsed.into_iter().filter_map(Result::ok).collect()
}

/// The files a ConfigMap or Secret projects into a volume: file name -> contents.
pub fn payload(object: &Object) -> BTreeMap<String, Vec<u8>> {
    match object {
        Object::ConfigMap(map) => {
            let text =
                map.data.iter().flatten().map(|(key, value)| (key.clone(), value.clone().into_bytes()));
            let binary = map.binary_data.iter().flatten().map(|(key, value)| (key.clone(), value.0.clone()));
            text.chain(binary).collect()
        }
        Object::Secret(secret) => {
            let data = secret.data.iter().flatten().map(|(key, value)| (key.clone(), value.0.clone()));
            let string = secret
                .string_data
                .iter()
                .flatten()
                .map(|(key, value)| (key.clone(), value.clone().into_bytes()));
            data.chain(string).collect()
        }
        other => panic!("{other:?} projects no files"),
    }
}

/// The object's `kind`.
pub fn kind(object: &Object) -> &'static str {
    match object {
        Object::Deployment(_) => "Deployment",
        Object::Service(_) => "Service",
        Object::PodDisruptionBudget(_) => "PodDisruptionBudget",
        Object::ConfigMap(_) => "ConfigMap",
        Object::Secret(_) => "Secret",
        Object::ServiceAccount(_) => "ServiceAccount",
        Object::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
        Object::Ingress(_) => "Ingress",
    }
}

/// The object's `metadata.name`.
pub fn name(object: &Object) -> &str {
    let metadata = match object {
        Object::Deployment(o) => &o.metadata,
        Object::Service(o) => &o.metadata,
        Object::PodDisruptionBudget(o) => &o.metadata,
        Object::ConfigMap(o) => &o.metadata,
        Object::Secret(o) => &o.metadata,
        Object::ServiceAccount(o) => &o.metadata,
        Object::PersistentVolumeClaim(o) => &o.metadata,
        Object::Ingress(o) => &o.metadata,
    };
    metadata.name.as_deref().unwrap_or_default()
}

//! The integration-test binary: one crate, a module per area (ripgrep's layout).
//!
//! [`fixtures`] starts real programs (docker-registry, skopeo, podman) on free 127.0.0.1 ports;
//! [`fixture_selftest`] proves the fixtures themselves work before anything builds on them.
//! [`env`] makes a data directory with the library's `init` and serves it; [`token_api`] drives
//! the router in-process ([`token_names`]: user names, duplicate headers, log escaping);
//! [`e2e_registry`] runs the real registry and clients against regent;
//! [`cli`] runs the `regent` binary ([`passwd`]: many `regent passwd` at once on one file;
//! [`doctor`]: `regent doctor` against the real registry);
//! [`ldap_e2e`] runs a real slapd behind regent end to end; [`htpasswd_outage`] fills the bcrypt
//! slots and gets a 503;
//! [`front`] tests the TLS front end and the proxy, and runs the registry and clients through it;
//! [`registry2_keys`] checks the key settings against registry 2.8; [`registry3`] runs
//! distribution v3.1.1 against regent (bundle and JWKS, every key type, a rotation); [`keys_cli`] runs `regent keys` and a rotation under a running server;
//! [`token_limits`] bounds the work of one token request; [`reload`] reloads policy files safely;
//! [`config_reload`] changes `regent.toml` under the running binary ([`token_swap`]: a request
//! under way keeps its backend chain); [`shutdown`] stops it with transfers under way;
//! [`logging`] checks the binary's log output; [`init_existing`] adds TLS to a data directory;
//! [`policy_test_cli`] runs `regent policy test`; [`metrics`] scrapes `/metrics` and checks
//! `/readyz`; [`lockout`] tests brute-force protection; [`kubernetes`] renders deploy/kubernetes/
//! and runs regent and the registry on its files as the kubelet lays them out; [`replicas`] runs
//! three replicas behind HAProxy (processes and containers); [`token_subjects`] grants robots
//! with claims and a scope ceiling.

// Test code: a failed setup step should stop the test loudly, and nothing here is a public API.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod authn_cli;
mod authn_http;
mod cli;
mod compose;
mod config_reload;
mod docker_refresh;
mod doctor;
mod e2e_refresh;
mod e2e_registry;
mod env;
mod fixture_selftest;
mod fixtures;
mod front;
mod htpasswd_outage;
mod init_existing;
mod jwks_route;
mod keys_cli;
mod kubernetes;
mod ldap;
mod ldap_e2e;
mod ldap_refresh;
mod lockout;
mod logging;
mod metrics;
mod passwd;
mod policy_test_cli;
mod registry2_keys;
mod registry3;
mod reload;
mod replicas;
mod revoke_cli;
mod served;
mod shutdown;
mod token_api;
mod token_limits;
mod token_names;
mod token_ownership;
mod token_refresh;
mod token_subjects;
mod token_swap;
mod token_tcp;

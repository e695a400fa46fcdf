//! The integration-test binary: one crate, a module per area (ripgrep's layout).
//!
//! [`fixtures`] starts real programs (docker-registry, skopeo, podman) on free 127.0.0.1 ports;
//! [`fixture_selftest`] proves the fixtures themselves work before anything builds on them.
//! [`env`] makes a data directory with the library's `init` and serves it; [`token_api`] drives
//! the router in-process ([`token_names`]: user names, duplicate headers, log escaping);
//! [`e2e_registry`] runs the real registry and clients against regent;
//! [`cli`] runs the `regent` binary ([`doctor`]: `regent doctor` against the real registry); [`ldap_e2e`] runs a real slapd behind regent end to end;
//! [`front`] tests the TLS front end and the proxy, and runs the registry and clients through it;
//! [`token_limits`] bounds the work of one token request; [`reload`] reloads policy files safely.

// Test code: a failed setup step should stop the test loudly, and nothing here is a public API.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod authn_cli;
mod authn_http;
mod cli;
mod compose;
mod doctor;
mod e2e_registry;
mod env;
mod fixture_selftest;
mod fixtures;
mod front;
mod ldap;
mod ldap_e2e;
mod reload;
mod token_api;
mod token_limits;
mod token_names;
mod token_ownership;
mod token_tcp;

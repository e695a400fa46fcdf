//! regent: a token-auth server for Docker/OCI registries.
//!
//! The registry answers `401` with a `Bearer` challenge; the client asks regent's `/token` with
//! the user's credentials; regent authenticates the user, evaluates the policy files and returns a
//! signed JWT carrying exactly the granted subset of the requested actions.
//!
//! Module map (dependencies point down the list, never up):
//!
//! - [`cli`]: the `regent` command line (clap); the only place besides `main.rs` using `anyhow`.
//! - [`server`]: binds nothing itself; [`server::Server`] serves already-bound listeners,
//!   applies changes of `regent.toml` without a restart (`server::reconfigure`), answers
//!   SIGHUP, SIGTERM and SIGINT (`server::signals`) and drains connections on shutdown.
//! - [`front`]: the rustls listener, the streaming reverse proxy to the registry, and the access log.
//! - [`doctor`]: `regent doctor`: checks from outside that regent and a registry fit together.
//! - [`init`]: `regent init`: writes a working data directory (config, keys, htpasswd, policies).
//! - [`http`]: axum routes (`/token`, `/auth/token`, `/healthz`, `/readyz`, `/metrics`,
//!   `/.well-known/jwks.json`, the self-service `/tokens`), extractors, `ApiError`, the token
//!   metrics layer and brute-force protection (`http::lockout`).
//! - [`audit`]: the audit trail, one line per token decision (server log and `[log] audit_file`).
//! - [`policy`]: pure and synchronous: (principal, scopes) -> grant + reasons.
//! - [`token`]: signing keys and the key directory, libtrust and RFC 7638 `kid`s, `x5c`, JWKS,
//!   claims, the token issuer, and refresh tokens (docker's identity tokens) with their
//!   revocations.
//! - [`authn`]: the `Authenticator` trait, the backend chain and the backends (htpasswd, LDAP,
//!   HTTP, access tokens: `authn::tokens`, and OIDC workload JWTs: `authn::oidc`).
//! - [`metrics`]: Prometheus families ([`metrics::Metrics`]) and the backends' last state for `/readyz`.
//! - [`config`]: `regent.toml` file structs (`deny_unknown_fields`) -> validated [`config::Config`],
//!   and what differs between two versions (what a running server applies, what needs a restart).
//! - [`reload`]: one mechanism for every watched file: read, parse, swap, keep the last good.
//! - [`subject`]: who a credential speaks for beyond name and groups: person or robot, claims,
//!   and the scope ceiling a grant never exceeds.
//! - [`scope`]: the scope grammar (`repository:team/app:pull,push`) and token access entries.
//! - [`untrusted`]: the user-name rule and [`untrusted::Escaped`], how untrusted text is logged.
//! - [`clock`], [`secret`]: time passed in (never read inside logic) and a type that won't print.

pub mod audit;
pub mod authn;
pub mod cli;
pub mod clock;
pub mod config;
pub mod doctor;
pub mod front;
pub mod http;
pub mod init;
pub mod metrics;
pub mod policy;
pub mod reload;
pub mod scope;
pub mod secret;
pub mod server;
pub mod subject;
pub mod token;
pub mod untrusted;

//! Registry 3 (distribution v3.1.1, `$REGISTRY3_BIN` or `../shared/registry3/registry`) as a
//! first-class target: login, push, pull and anonymous pull with skopeo against a registry
//! trusting (a) a `rootcertbundle` with `x5c` tokens and (b) only an `auth.token.jwks` file with
//! kid-only tokens, for RSA, EC and Ed25519 keys; the rules registry 3 applies to `x5c` and
//! `kid`; a key rotation while the registry runs, with no failed pull; a refresh token used
//! across a rotation; and podman with a password and anonymously.

mod clients;
mod e2e;
mod refresh_rotation;
mod rotation;
pub mod stack;

//! Three regent replicas behind a real load balancer (Debian's HAProxy) sharing one data
//! directory: one writer, next to which the CLI commands run, and two readers that see the
//! directory read-only. A login on one replica is refreshed and pulled on the others
//! ([`login`]); a revocation, a key rotation, a policy change and a new user reach all three
//! within two seconds of each other ([`agreement`], which prints the times); a replica killed
//! during a pull burst fails no pull ([`failover`]); and the same with three containers on the
//! Docker engine, `docker login`, push and pull ([`docker`]).
//!
//! [`set::ReplicaSet`] starts the processes: HAProxy sends `/token` (and `/auth/token`, the
//! JWKS) to the replicas and everything else to registry 2.8.

mod set;

mod agreement;
mod docker;
mod failover;
mod login;

//! The htpasswd backend: Apache htpasswd users (bcrypt; legacy `{SHA}`/`$apr1$` with a warning)
//! and an optional `AuthGroupFile` for groups. Both files reload when they change on disk.

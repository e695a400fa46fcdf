//! A short-lived cache of verified identities, keyed by a salted hash of user and password.
//!
//! It holds identities, never tokens, and never the password itself.

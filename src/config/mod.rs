//! `regent.toml`: file structs (`deny_unknown_fields`) -> validated [`Config`].
//! Every error names `file:line:col`.

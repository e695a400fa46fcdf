//! The `regent` command line.

//! The `regent` binary: parse the command line, run, print the error chain on failure.

fn main() {}

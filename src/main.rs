//! The `regent` binary: parse the command line, run, print the error chain on failure.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    regent::cli::init_logging();
    if rustls::crypto::aws_lc_rs::default_provider().install_default().is_err() {
        eprintln!("error: a rustls crypto provider was already installed");
        return ExitCode::FAILURE;
    }
    match regent::cli::run(regent::cli::Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

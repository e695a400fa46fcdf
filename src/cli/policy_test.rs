//! `regent policy test FILE...`: runs policy test files against the policy directory.

use std::process::ExitCode;

use super::PolicyTestArgs;
use super::commands::load_policies;
use crate::policy::PolicySet;
use crate::policy::test_file::PolicyTestFile;

/// The exit status when a policy or test file cannot be used (1 means a case failed).
const BAD_FILE: u8 = 2;

/// `regent policy test`: prints each mismatch and a summary; exit status 0 when every case
/// passes, 1 when one fails, 2 when a policy or test file is invalid.
pub(super) fn policy_test(args: PolicyTestArgs) -> anyhow::Result<ExitCode> {
    let loaded = match &args.policies {
        Some(dir) => PolicySet::load_dir(dir).map_err(anyhow::Error::from),
        None => load_policies(&args.config),
    };
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("{err:#}");
            return Ok(ExitCode::from(BAD_FILE));
        }
    };
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    let mut files = Vec::new();
    for path in &args.files {
        match PolicyTestFile::read(path) {
            Ok(file) => files.push(file),
            Err(err) => eprintln!("{err}"),
        }
    }
    if files.len() < args.files.len() {
        return Ok(ExitCode::from(BAD_FILE));
    }
    let total: usize = files.iter().map(|file| file.cases.len()).sum();
    let mut failed = 0;
    for file in &files {
        for mismatch in loaded.set.run_tests(file) {
            println!("{mismatch}");
            failed += 1;
        }
    }
    if failed > 0 {
        println!("FAILED: {failed} of {total} cases");
        return Ok(ExitCode::FAILURE);
    }
    let plural = if files.len() == 1 { "" } else { "s" };
    println!("ok: {total} cases in {} file{plural}", files.len());
    Ok(ExitCode::SUCCESS)
}

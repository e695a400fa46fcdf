//! [`Check`] (one printed line: status, name, what was found, the fix) and [`Report`].

use std::fmt;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The check passed.
    Ok,
    /// Works now, but close to failing (e.g. clock skew near the registry's leeway).
    Warn,
    /// The registry will refuse regent's tokens (or clients cannot get them).
    Fail,
    /// Not checked, with the reason (a missing input).
    Skip,
}

impl Status {
    /// The label at the start of the line.
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

/// One check's line: `FAIL  issuer: ... -> fix: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Its outcome.
    pub status: Status,
    /// What was checked (`service`, `bundle`, `token`, ...).
    pub name: &'static str,
    /// What was found.
    pub message: String,
    /// What to do about it (failures and warnings).
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn ok(name: &'static str, message: impl Into<String>) -> Self {
        Self { status: Status::Ok, name, message: message.into(), fix: None }
    }

    /// A failed check with its fix.
    pub fn fail(name: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { status: Status::Fail, name, message: message.into(), fix: Some(fix.into()) }
    }

    /// A warning with its fix.
    pub fn warn(name: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { status: Status::Warn, name, message: message.into(), fix: Some(fix.into()) }
    }

    /// A check that was not run, and why.
    pub fn skip(name: &'static str, why: impl Into<String>) -> Self {
        Self { status: Status::Skip, name, message: why.into(), fix: None }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<6}{}: {}", self.status.label(), self.name, self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, " -> fix: {fix}")?;
        }
        Ok(())
    }
}

/// Every check's line, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// Adds a check.
    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    /// How many checks have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|check| check.status == status).count()
    }

    /// Whether any check failed (`regent doctor` then exits with status 1).
    pub fn failed(&self) -> bool {
        self.count(Status::Fail) > 0
    }

    /// The check called `name`, if it ran.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|check| check.name == name)
    }

    /// The names of the failed checks among `names`, in report order.
    pub fn failed_among(&self, names: &[&str]) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|check| check.status == Status::Fail && names.contains(&check.name))
            .map(|check| check.name)
            .collect()
    }
}

impl fmt::Display for Report {
    /// One line per check, then `N ok, N warnings, N failed, N skipped`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            writeln!(f, "{check}")?;
        }
        write!(
            f,
            "{} ok, {} warnings, {} failed, {} skipped",
            self.count(Status::Ok),
            self.count(Status::Warn),
            self.count(Status::Fail),
            self.count(Status::Skip)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_summary() {
        let mut report = Report::default();
        report.push(Check::ok("service", "regent and the registry agree on \"registry.local\""));
        report.push(Check::fail("issuer", "differ", "set it"));
        report.push(Check::skip("jwks", "not configured"));
        let text = report.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ok    service: regent and the registry agree on \"registry.local\"");
        assert_eq!(lines[1], "FAIL  issuer: differ -> fix: set it");
        assert_eq!(lines[2], "skip  jwks: not configured");
        assert_eq!(lines[3], "1 ok, 0 warnings, 1 failed, 1 skipped");
        assert!(report.failed());
        assert_eq!(report.failed_among(&["issuer", "service"]), ["issuer"]);
        assert!(!Report::default().failed());
    }
}

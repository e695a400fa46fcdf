//! Recording what the backend did, for `regent authn test` (never a password).

use crate::authn::Trace;

/// An optional [`Trace`]: steps are formatted only when someone is reading them.
pub(super) struct Steps<'a> {
    /// Where the steps go; `None` when not tracing.
    trace: Option<&'a mut Trace>,
    /// The backend's name, prefixed to every step.
    backend: &'a str,
}

impl<'a> Steps<'a> {
    /// Steps of `backend` written to `trace`, or dropped when it is `None`.
    pub(super) fn new(backend: &'a str, trace: Option<&'a mut Trace>) -> Self {
        Self { trace, backend }
    }

    /// Records the step `text` builds (called only when tracing).
    pub(super) fn record(&mut self, text: impl FnOnce() -> String) {
        if let Some(trace) = self.trace.as_deref_mut() {
            trace.step(format!("{}: {}", self.backend, text()));
        }
    }
}

//! Clock skew between the registry (its `Date` header) and the clock tokens are signed with.

use std::time::Duration;

use time::OffsetDateTime;

use super::report::Check;

/// Skew above which the doctor warns.
pub const WARN_SKEW: Duration = Duration::from_secs(30);
/// Skew above which tokens fail: registry 2.8 allows 60 s on `nbf` and `exp`.
pub const FAIL_SKEW: Duration = Duration::from_secs(60);

/// `clock`: compares the registry's `Date` with `signer_time` (a token's `iat`, or this
/// machine's clock when the probe token is signed here) taken at the same moment.
pub fn clock_check(registry_date: OffsetDateTime, signer_time: OffsetDateTime, signer: &str) -> Check {
    let difference = signer_time - registry_date;
    let skew = Duration::from_secs(difference.whole_seconds().unsigned_abs());
    let direction = if difference.is_positive() { "ahead of" } else { "behind" };
    let fix = "run NTP (chrony or systemd-timesyncd) on both machines";
    if skew > FAIL_SKEW {
        Check::fail(
            "clock",
            format!(
                "{signer} is {}s {direction} the registry's (beyond its 60 s leeway: fresh tokens are \"not yet valid\" or already expired)",
                skew.as_secs()
            ),
            fix,
        )
    } else if skew > WARN_SKEW {
        Check::warn(
            "clock",
            format!("{signer} is {}s {direction} the registry's (the registry allows 60 s)", skew.as_secs()),
            fix,
        )
    } else {
        Check::ok("clock", format!("{signer} and the registry's agree within {}s", skew.as_secs().max(1)))
    }
}

/// Parses an HTTP `Date` header (`Thu, 03 Dec 2026 09:13:02 GMT`).
pub(super) fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    httpdate::parse_http_date(value).ok().map(OffsetDateTime::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use time::macros::datetime;

    #[test]
    fn skew_thresholds_follow_the_registry_leeway() {
        let registry = datetime!(2026-12-03 09:13:02 UTC);
        let at = |seconds: i64| registry + time::Duration::seconds(seconds);
        let cases = [
            (0, Status::Ok),
            (-30, Status::Ok),
            (31, Status::Warn),
            (-60, Status::Warn),
            (61, Status::Fail),
            (-600, Status::Fail),
        ];
        for (seconds, expected) in cases {
            let check = clock_check(registry, at(seconds), "this machine's clock");
            assert_eq!(check.status, expected, "{seconds}: {check}");
        }
        let behind = clock_check(registry, at(-90), "regent's clock");
        assert!(behind.message.contains("90s behind"), "{behind}");
        assert!(clock_check(registry, at(90), "x").message.contains("90s ahead of"));
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Thu, 03 Dec 2026 09:13:02 GMT"),
            Some(datetime!(2026-12-03 09:13:02 UTC))
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }
}

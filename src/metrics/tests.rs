//! The exposition: families present, counters moving, readiness from backend states.

use std::time::Duration;

use super::*;

/// The value of the sample `name{labels}` in `text` (labels as written, in order).
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (key, value) = line.rsplit_once(' ')?;
        (key == name_and_labels).then(|| value.parse().ok()).flatten()
    })
}

#[test]
fn records_show_in_the_exposition() {
    let metrics = Metrics::new();
    metrics.record_token(TokenOutcome::Issued, GrantType::Password, "local", Duration::from_millis(3));
    metrics.record_token(TokenOutcome::Issued, GrantType::Password, "local", Duration::from_millis(3));
    metrics.record_token(TokenOutcome::Unauthorized, GrantType::Password, "", Duration::from_millis(120));
    metrics.record_backend_call("local", BackendResult::Denied, Duration::from_millis(2));
    metrics.record_reload("policies", ReloadResult::Ok, 1_700_000_000);
    metrics.record_reload("policies", ReloadResult::Failed, 1_700_000_100);
    metrics.record_lockout(LockoutScope::UserClient);
    metrics.register_pool("corp", || 2);
    metrics.register_ldap_servers("corp", || {
        vec![("ldap://a:389".to_owned(), false), ("ldap://b:389".to_owned(), true)]
    });
    let text = metrics.encode().unwrap();
    let issued = r#"regent_token_requests_total{outcome="issued",grant_type="password",backend="local"}"#;
    assert_eq!(sample(&text, issued), Some(2.0), "{text}");
    let refused =
        r#"regent_token_requests_total{outcome="unauthorized",grant_type="password",backend="none"}"#;
    assert_eq!(sample(&text, refused), Some(1.0));
    let slow = r#"regent_token_request_duration_seconds_bucket{le="0.064",outcome="unauthorized"}"#;
    let fast = r#"regent_token_request_duration_seconds_bucket{le="0.128",outcome="unauthorized"}"#;
    assert_eq!((sample(&text, slow), sample(&text, fast)), (Some(0.0), Some(1.0)), "{text}");
    assert_eq!(sample(&text, r#"regent_backend_up{backend="local"}"#), Some(1.0));
    assert_eq!(sample(&text, r#"regent_reloads_total{what="policies",result="failed"}"#), Some(1.0));
    let last = r#"regent_reload_last_success_timestamp_seconds{what="policies"}"#;
    assert_eq!(sample(&text, last), Some(1_700_000_000.0), "a failed reload keeps the last good time");
    assert_eq!(sample(&text, r#"regent_lockouts_total{scope="user_client"}"#), Some(1.0));
    assert_eq!(sample(&text, r#"regent_ldap_pool_connections_in_use{backend="corp"}"#), Some(2.0));
    let server = |url: &str| format!(r#"regent_ldap_server_up{{backend="corp",url="{url}"}}"#);
    assert_eq!(sample(&text, &server("ldap://a:389")), Some(0.0), "{text}");
    assert_eq!(sample(&text, &server("ldap://b:389")), Some(1.0));
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn readiness_follows_the_backends_last_state() {
    let metrics = Metrics::new();
    metrics.register_backend("local");
    metrics.register_backend("corp");
    assert!(Readiness::new(true, true, metrics.backend_states()).ready, "unknown is not an outage");
    metrics.record_backend_call("corp", BackendResult::Unavailable, Duration::from_secs(2));
    let readiness = Readiness::new(true, true, metrics.backend_states());
    assert!(!readiness.ready);
    assert_eq!(
        readiness.backends[1],
        BackendReadiness { name: "corp".into(), state: BackendState::Unavailable }
    );
    metrics.record_backend_call("corp", BackendResult::UnknownUser, Duration::from_millis(5));
    assert!(Readiness::new(true, true, metrics.backend_states()).ready, "an answer makes it ready again");
    assert!(!Readiness::new(false, true, metrics.backend_states()).ready, "no keys");
}

#[test]
fn a_removed_backend_leaves_readyz_and_its_gauges() {
    let metrics = Metrics::new();
    for backend in ["local", "corp"] {
        metrics.register_backend(backend);
        metrics.record_backend_call(backend, BackendResult::Unavailable, Duration::from_millis(5));
    }
    metrics.register_pool("corp", || 3);
    metrics.register_pool("corp", || 1);
    let text = metrics.encode().unwrap();
    assert_eq!(sample(&text, r#"regent_ldap_pool_connections_in_use{backend="corp"}"#), Some(1.0), "{text}");
    metrics.keep_backends(&["local"]);
    let names: Vec<String> = metrics.backend_states().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["local"]);
    let text = metrics.encode().unwrap();
    assert_eq!(sample(&text, r#"regent_backend_up{backend="local"}"#), Some(0.0));
    assert!(!text.contains(r#"regent_backend_up{backend="corp"}"#), "{text}");
    assert!(!text.contains(r#"regent_ldap_pool_connections_in_use{backend="corp"}"#), "{text}");
}

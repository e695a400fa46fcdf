//! Scope parsing (`repository:team/app:pull,push`): one scope and whole `scope` fields.
//!
//! Invariants: a parsed scope prints (`Display`) as a scope that parses back to itself and is no
//! longer than the input; the bounds hold; an error names the text it refuses.

#![no_main]

use libfuzzer_sys::fuzz_target;
use regent::scope::{MAX_ACTIONS, MAX_SCOPE_BYTES, MAX_SCOPES, Scope, parse_scope, parse_scopes};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_scope(text) {
        Ok(scope) => check_scope(text, &scope),
        Err(error) => assert_eq!(error.scope, text),
    }
    // Each line is one `scope` parameter, as `/token?scope=...&scope=...` gives them.
    if let Ok(scopes) = parse_scopes(text.split('\n')) {
        let mut resources: Vec<(&str, &str)> = Vec::new();
        for scope in &scopes {
            check_scope(&scope.to_string(), scope);
            let resource = (scope.resource_type.as_str(), scope.name.as_str());
            if !resources.contains(&resource) {
                resources.push(resource);
            }
        }
        assert!(resources.len() <= MAX_SCOPES, "{} resources", resources.len());
        let shown: Vec<String> = scopes.iter().map(ToString::to_string).collect();
        assert_eq!(parse_scopes([shown.join(" ").as_str()]), Ok(scopes), "{text:?}");
    }
});

/// The invariants of one parsed scope.
fn check_scope(text: &str, scope: &Scope) {
    assert!(!scope.resource_type.is_empty() && !scope.name.is_empty(), "{scope:?}");
    assert!(scope.actions.len() <= MAX_ACTIONS, "{scope:?}");
    for (at, action) in scope.actions.iter().enumerate() {
        assert!(!action.is_empty() && !scope.actions[..at].contains(action), "{scope:?}");
    }
    let shown = scope.to_string();
    assert!(shown.len() <= text.len() && shown.len() <= MAX_SCOPE_BYTES, "{text:?} -> {shown:?}");
    assert_eq!(parse_scope(&shown).as_ref(), Ok(scope), "{text:?} -> {shown:?}");
}

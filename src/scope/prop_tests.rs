//! Properties of the scope grammar: generated scopes parse to their parts and print back to
//! themselves; arbitrary text never panics, and whatever parses round-trips.

use proptest::prelude::*;

use super::*;

/// A resource type, optionally with a deprecated class: `repository`, `repository(plugin)`.
fn type_text() -> impl Strategy<Value = (String, String)> {
    ("[a-z0-9_-]{1,12}", prop::option::of("[a-z]{0,6}")).prop_map(|(resource_type, class)| {
        let written = match &class {
            Some(class) => format!("{resource_type}({class})"),
            None => resource_type.clone(),
        };
        (written, resource_type)
    })
}

/// A name: any printable text without whitespace, `:` included (`localhost:5000/app`).
fn name_text() -> impl Strategy<Value = String> {
    "[^\\s\\p{Cc}]{1,40}"
}

/// Actions, empty ones and repeats included.
fn actions_text() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z*_-]{0,6}", 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_scopes_parse_to_their_parts_and_print_back(
        (written_type, resource_type) in type_text(),
        name in name_text(),
        actions in actions_text(),
    ) {
        let text = format!("{written_type}:{name}:{}", actions.join(","));
        let scope = parse_scope(&text).expect("a generated scope parses");
        let mut distinct: Vec<String> = Vec::new();
        for action in actions.into_iter().filter(|action| !action.is_empty()) {
            if !distinct.contains(&action) {
                distinct.push(action);
            }
        }
        prop_assert_eq!(&scope, &Scope { resource_type, name, actions: distinct });
        prop_assert_eq!(parse_scope(&scope.to_string()), Ok(scope.clone()));
        prop_assert_eq!(parse_scopes([format!("{scope} {scope}").as_str()]), Ok(vec![scope.clone(), scope]));
    }

    #[test]
    fn arbitrary_text_never_panics_and_what_parses_round_trips(text in any::<String>()) {
        match parse_scope(&text) {
            Ok(scope) => prop_assert_eq!(parse_scope(&scope.to_string()), Ok(scope)),
            Err(error) => prop_assert_eq!(error.scope, text.clone()),
        }
        if let Ok(scopes) = parse_scopes(text.split('\n')) {
            let shown: Vec<String> = scopes.iter().map(ToString::to_string).collect();
            prop_assert_eq!(parse_scopes([shown.join(" ").as_str()]), Ok(scopes));
        }
    }
}

//! Matching stays fast on hostile patterns and agrees with a direct reading of the semantics.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

/// Generous even for a debug build on a busy machine; the old backtracking took seconds.
const MATCH_BUDGET: Duration = Duration::from_millis(50);

fn pattern(text: &str) -> RepositoryPattern {
    RepositoryPattern::parse(text).expect(text).pattern
}

/// `unit` repeated (and cut) to the longest valid name length.
fn long_name(unit: &str) -> String {
    let mut name = unit.repeat(NAME_MAX_LEN / unit.len() + 1);
    name.truncate(NAME_MAX_LEN);
    name
}

/// Matches once and returns the answer and how long it took.
fn timed(pattern: &RepositoryPattern, name: &str, user: Option<&str>) -> (bool, Duration) {
    let started = Instant::now();
    let matched = pattern.matches(name, user);
    (matched, started.elapsed())
}

#[test]
fn hostile_patterns_match_in_linear_time() {
    // (pattern, adversarial name, expected): each took seconds or longer with backtracking.
    let nested_stars = format!("{}b", "*a".repeat(40));
    let deep = format!("{}/x", ["**"; 12].join("/"));
    let cases = [
        ("*-*-*-*-*-prod", long_name("a-"), None, false),
        ("*-*-*-*-*-prod", format!("{}-prod", &long_name("a-")[..249]), None, true),
        ("*-*-*-*-*-prod", long_name("-"), None, false),
        (nested_stars.as_str(), long_name("a"), None, false),
        (nested_stars.as_str(), format!("{}b", &long_name("a")[..254]), None, true),
        (deep.as_str(), long_name("a/"), None, false),
        (deep.as_str(), format!("{}/x", &long_name("a/")[..251]), None, true),
        ("**/*-*-*-*-*-prod/**", long_name("a-a-a-a-a-a/"), None, false),
        ("${user}/**/*-*-*-*-x", long_name("a-a-a-a-a-a/"), Some("a-a-a-a-a-a"), false),
        ("*${user}*${user}*${user}*-x", long_name("a-"), Some("a-a"), false),
    ];
    for (text, name, user, expected) in &cases {
        let compiled = pattern(text);
        let (matched, took) = timed(&compiled, name, *user);
        assert_eq!(matched, *expected, "{text} vs {} bytes", name.len());
        assert!(took < MATCH_BUDGET, "{text} vs a {}-byte name took {took:?}", name.len());
    }
}

#[test]
fn a_long_pattern_against_a_long_name_stays_fast() {
    // A pattern as long as a policy author could write it: 1000 `*-` pairs in one segment.
    let text = format!("{}x", "*-".repeat(1000));
    let compiled = pattern(&text);
    let (matched, took) = timed(&compiled, &long_name("-"), None);
    assert!(!matched);
    assert!(took < MATCH_BUDGET, "took {took:?}");
}

/// The reference: the documented semantics read directly, with `${user}` substituted as text
/// and plain recursion (exponential, so only for small generated inputs; the policy's grant
/// properties use it too).
pub(in crate::policy) fn reference(pattern: &str, name: &str, user: Option<&str>) -> bool {
    let user = user.filter(|user| is_valid_component(user));
    if pattern.contains("${user}") && user.is_none() {
        return false;
    }
    let pattern = pattern.replace("${user}", user.unwrap_or_default());
    let pattern: Vec<&str> = pattern.split('/').collect();
    let names: Vec<&str> = name.split('/').collect();
    reference_segments(&pattern, &names)
}

fn reference_segments(pattern: &[&str], names: &[&str]) -> bool {
    match pattern.split_first() {
        None => names.is_empty(),
        Some((&"**", rest)) => (1..=names.len()).any(|taken| reference_segments(rest, &names[taken..])),
        Some((segment, rest)) => match names.split_first() {
            Some((name, names)) => {
                reference_text(segment.as_bytes(), name.as_bytes()) && reference_segments(rest, names)
            }
            None => false,
        },
    }
}

fn reference_text(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|at| reference_text(rest, &text[at..])),
        Some((byte, rest)) => text.first() == Some(byte) && reference_text(rest, &text[1..]),
    }
}

/// Pattern text from a small alphabet (so matches are frequent); always a valid pattern.
pub(in crate::policy) fn pattern_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec!["a", "b", "-", "ab", "*", "${user}"]);
    let stars = prop::collection::vec(piece, 1..6).prop_map(|pieces| {
        // `**` within a segment is an error: one star instead.
        let mut text = pieces.concat();
        while text.contains("**") {
            text = text.replace("**", "*");
        }
        text
    });
    let segment = prop_oneof![1 => Just("**".to_owned()), 4 => stars];
    prop::collection::vec(segment, 1..5).prop_map(|segments| segments.join("/"))
}

/// A name from the same alphabet, empty segments included.
fn name_text() -> impl Strategy<Value = String> {
    let segment = prop::collection::vec(prop::sample::select(vec!['a', 'b', '-']), 0..8)
        .prop_map(|chars| chars.into_iter().collect::<String>());
    prop::collection::vec(segment, 1..6).prop_map(|segments| segments.join("/"))
}

fn user_name() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec!["a", "ab", "b-a", "a-", "", "A", "a/b", "*"]))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn agrees_with_the_reference(text in pattern_text(), name in name_text(), user in user_name()) {
        let compiled = pattern(&text);
        prop_assert_eq!(compiled.matches(&name, user), reference(&text, &name, user), "{} vs {:?} as {:?}", text, name, user);
    }

    #[test]
    fn agrees_with_the_reference_on_names_built_to_match(
        text in pattern_text(),
        fill in prop::collection::vec(prop::sample::select(vec!["", "a", "b-", "ab"]), 8),
        user in user_name(),
    ) {
        // Replace each `*` and `**` by filler so that many pairs match (random pairs mostly don't).
        let mut fill = fill.iter().cycle();
        let name: String = text
            .replace("${user}", user.unwrap_or("a"))
            .split('/')
            .map(|segment| match segment {
                "**" => format!("a{}", fill.next().copied().unwrap_or_default()),
                _ => segment.split('*').collect::<Vec<_>>().join(fill.next().copied().unwrap_or_default()),
            })
            .collect::<Vec<_>>()
            .join("/");
        let compiled = pattern(&text);
        prop_assert_eq!(compiled.matches(&name, user), reference(&text, &name, user), "{} vs {:?} as {:?}", text, name, user);
    }
}

//! Query strings and POST form bodies of `/token` (`scope=a&scope=b&service=x`).
//!
//! Invariants: decoded pairs, encoded again the way a client encodes them, decode to the same
//! pairs; `single` and `all` agree; UTF-8 input without `%` always decodes; an error is a 400.

#![no_main]

use http::StatusCode;
use libfuzzer_sys::fuzz_target;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use regent::http::params::Params;

fuzz_target!(|data: &[u8]| {
    let params = match Params::parse(data) {
        Ok(params) => params,
        Err(error) => {
            assert_eq!(error.status(), StatusCode::BAD_REQUEST);
            let plain = std::str::from_utf8(data).is_ok_and(|text| !text.contains('%'));
            assert!(!plain, "UTF-8 without escapes was refused: {error}");
            return;
        }
    };
    let pieces = data.split(|&b| b == b'&').filter(|piece| !piece.is_empty()).count();
    assert_eq!(params.pairs().count(), pieces);
    let encoded: Vec<String> = params
        .pairs()
        .map(|(key, value)| {
            format!(
                "{}={}",
                utf8_percent_encode(key, NON_ALPHANUMERIC),
                utf8_percent_encode(value, NON_ALPHANUMERIC)
            )
        })
        .collect();
    let again = Params::parse(encoded.join("&").as_bytes()).expect("encoded pairs decode");
    assert_eq!(again, params);
    // A few distinct keys: checking each of thousands of pairs would make the target quadratic.
    let keys: std::collections::BTreeSet<&str> = params.pairs().map(|(key, _)| key).collect();
    for key in keys.into_iter().take(8) {
        let all: Vec<&str> = params.all(key).collect();
        match params.single(key) {
            Ok(Some(value)) => assert_eq!(all, [value]),
            Ok(None) => panic!("{key:?} is there"),
            Err(error) => {
                assert!(all.len() > 1, "{key:?}");
                assert_eq!(error.status(), StatusCode::BAD_REQUEST);
            }
        }
    }
});

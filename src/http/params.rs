//! Query strings and `application/x-www-form-urlencoded` bodies, decoded strictly.
//!
//! Keys may repeat (`scope=a&scope=b`), so parameters are a list, not a map. Bytes that are not
//! UTF-8 after percent-decoding are an error, never replaced.

use percent_encoding::percent_decode;

use super::error::ApiError;

/// Decoded `key=value` pairs in their original order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes a query string or form body (`+` is a space, `%XX` an escaped byte).
    pub fn parse(input: &[u8]) -> Result<Self, ApiError> {
        let mut pairs = Vec::new();
        for piece in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (key, value) = match piece.iter().position(|&b| b == b'=') {
                Some(at) => (&piece[..at], &piece[at + 1..]),
                None => (piece, &b""[..]),
            };
            pairs.push((decode(key)?, decode(value)?));
        }
        Ok(Self(pairs))
    }

    /// The only value of `key`; an error when it is given more than once.
    pub fn single(&self, key: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self.all(key);
        let first = values.next();
        if values.next().is_some() {
            return Err(ApiError::BadRequest(format!("parameter {key:?} given more than once")));
        }
        Ok(first)
    }

    /// Every decoded pair, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// Every value of `key`, in order.
    pub fn all<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a str> {
        self.0.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

fn decode(raw: &[u8]) -> Result<String, ApiError> {
    let plus_as_space: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    let bytes: Vec<u8> = percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes)
        .map_err(|_| ApiError::BadRequest("request parameters are not valid UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn repeated_keys_plus_and_escapes() {
        let p = Params::parse(b"scope=repository%3Aa%3Apull&scope=registry:catalog:*+x&service=my+reg&flag")
            .unwrap();
        assert_eq!(p.all("scope").collect::<Vec<_>>(), ["repository:a:pull", "registry:catalog:* x"]);
        assert_eq!(p.single("service").unwrap(), Some("my reg"));
        assert_eq!(p.single("flag").unwrap(), Some(""));
        assert_eq!(p.single("missing").unwrap(), None);
        assert!(p.single("scope").is_err());
    }

    #[test]
    fn non_utf8_is_an_error() {
        assert!(matches!(Params::parse(b"service=%ff%fe"), Err(ApiError::BadRequest(_))));
    }

    /// `text` percent-encoded as a client encodes it, spaces as `+` when `plus` is set.
    fn encoded(text: &str, plus: bool) -> String {
        let escaped = utf8_percent_encode(text, NON_ALPHANUMERIC).to_string();
        if plus { escaped.replace("%20", "+") } else { escaped }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn encoded_pairs_decode_to_themselves(
            pairs in prop::collection::vec((any::<String>(), any::<String>()), 0..8),
            plus in any::<bool>(),
        ) {
            let query: Vec<String> =
                pairs.iter().map(|(key, value)| format!("{}={}", encoded(key, plus), encoded(value, plus))).collect();
            let params = Params::parse(query.join("&").as_bytes()).expect("encoded pairs decode");
            let decoded: Vec<(String, String)> =
                params.pairs().map(|(key, value)| (key.to_owned(), value.to_owned())).collect();
            prop_assert_eq!(decoded, pairs);
        }

        #[test]
        fn arbitrary_bytes_decode_or_are_a_bad_request(input in prop::collection::vec(any::<u8>(), 0..200)) {
            match Params::parse(&input) {
                Ok(params) => {
                    let pieces = input.split(|&b| b == b'&').filter(|piece| !piece.is_empty()).count();
                    prop_assert_eq!(params.pairs().count(), pieces);
                }
                Err(error) => prop_assert!(matches!(error, ApiError::BadRequest(_)), "{error}"),
            }
        }
    }
}

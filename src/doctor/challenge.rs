//! The registry's `WWW-Authenticate: Bearer realm="...",service="...",error="..."` challenge.

use std::collections::BTreeMap;

/// A parsed challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Challenge {
    /// The scheme (`Bearer`, `Basic`).
    pub scheme: String,
    /// Its parameters, names lower-cased.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// Parses one challenge: a scheme, then `name=value` or `name="quoted value"` pairs
    /// separated by commas; `None` when malformed.
    pub(super) fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, mut rest) = header.split_once(' ').unwrap_or((header, ""));
        let mut params = BTreeMap::new();
        loop {
            rest = rest.trim_start_matches([' ', ',']);
            if rest.is_empty() {
                break;
            }
            let (name, after) = rest.split_once('=')?;
            let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
                quoted_string(quoted)?
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            };
            params.insert(name.trim().to_ascii_lowercase(), value);
            rest = after;
        }
        Some(Challenge { scheme: scheme.to_owned(), params })
    }

    /// The parameter `name`.
    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// The value of a quoted string (after its opening quote) and the text after its closing quote.
fn quoted_string(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[index + 1..])),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_challenges() {
        let challenge = Challenge::parse(
            r#"Bearer realm="http://127.0.0.1:5001/token",service="registry.local",scope="repository:a,b:pull",error="invalid_token""#,
        )
        .unwrap();
        assert_eq!(challenge.scheme, "Bearer");
        assert_eq!(challenge.param("realm"), Some("http://127.0.0.1:5001/token"));
        assert_eq!(challenge.param("service"), Some("registry.local"));
        assert_eq!(challenge.param("scope"), Some("repository:a,b:pull"));
        assert_eq!(challenge.param("error"), Some("invalid_token"));
        let basic = Challenge::parse(r#"Basic realm="say \"hi\"", charset=UTF-8"#).unwrap();
        assert_eq!(basic.param("realm"), Some("say \"hi\""));
        assert_eq!(basic.param("charset"), Some("UTF-8"));
        assert_eq!(Challenge::parse(r#"Bearer realm="open"#), None);
        assert_eq!(Challenge::parse("Bearer realm").map(|c| c.params.len()), None);
    }
}

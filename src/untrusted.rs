//! Text that comes from clients and backends: the rule a user name must follow, and how such
//! text is written into a log line: as a string field of the event (`user = name`), which the
//! text format writes with `{:?}` (quoted, control characters escaped; tested below) and the
//! JSON format as a JSON string; or, inside a message built with `format!`, as [`Escaped`].
//!
//! User names are compared as exact bytes (htpasswd, HTTP auth API, policies). A name is
//! refused when it is empty, longer than [`MAX_NAME_BYTES`], starts or ends with whitespace, or
//! holds a control character ([`is_control`]): such names cannot be told apart from other names
//! on screen or in a log, and some backends ignore the difference (LDAP trims spaces).
//! This module is a leaf: it imports nothing of ours.

use std::fmt;

/// The longest user name accepted, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// Why a user name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("the user name is empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_BYTES`].
    #[error("the user name is longer than {MAX_NAME_BYTES} bytes")]
    TooLong,
    /// The name starts or ends with whitespace.
    #[error("the user name starts or ends with whitespace")]
    SurroundingWhitespace,
    /// The name holds a control character.
    #[error("the user name contains a control character")]
    ControlCharacter,
}

/// Checks `name` against the rule above.
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong);
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return Err(NameError::SurroundingWhitespace);
    }
    if name.chars().any(is_control) {
        return Err(NameError::ControlCharacter);
    }
    Ok(())
}

/// Whether `c` is a control character: C0 (below U+0020), DEL, C1 (U+0080 to U+009F), the
/// line and paragraph separators, and the format characters that change how text around them
/// shows (bidirectional overrides, zero-width characters, the byte order mark).
pub fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Untrusted text for a log line: quoted, with `"`, `\` and control characters escaped, so a
/// value can neither end the line nor forge another field or line.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if is_control(c) => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        for good in ["alice", "ALICE", "we*rd(", "jean pierre", "ünïcode", "a@b.example", &"x".repeat(256)]
        {
            assert_eq!(check_name(good), Ok(()), "{good:?}");
        }
        let cases = [
            ("", NameError::Empty),
            (&*"x".repeat(257), NameError::TooLong),
            (" mallory", NameError::SurroundingWhitespace),
            ("mallory ", NameError::SurroundingWhitespace),
            ("mallory\t", NameError::SurroundingWhitespace),
            ("\u{3000}mallory", NameError::SurroundingWhitespace),
            ("admin\nuser=root", NameError::ControlCharacter),
            ("a\x1b[2Jb", NameError::ControlCharacter),
            ("a\0b", NameError::ControlCharacter),
            ("a\x7fb", NameError::ControlCharacter),
            ("a\u{85}b", NameError::ControlCharacter),
            ("a\u{202e}nimda", NameError::ControlCharacter),
            ("ad\u{200b}min", NameError::ControlCharacter),
            ("a\u{2028}b", NameError::ControlCharacter),
        ];
        for (bad, error) in cases {
            assert_eq!(check_name(bad), Err(error), "{bad:?}");
        }
    }

    #[test]
    fn debug_formatting_escapes_every_control_character_too() {
        // String fields of log lines (`user = name`, not `%Escaped(name)`) are written by the
        // text formatter with `{:?}`: it leaves no control character raw, like `Escaped`. The
        // JSON formatter writes JSON strings: C0 controls (line ends, ESC) and quotes escaped,
        // so a value stays inside its string on its line.
        for c in (0..=0x10FFFF_u32).filter_map(char::from_u32).filter(|&c| is_control(c)) {
            let text = format!("a{c}b\"");
            let debug = format!("{text:?}");
            assert!(!debug.chars().any(is_control), "{:x} stays raw: {debug}", u32::from(c));
            assert!(debug.ends_with("b\\\"\""), "the quote is escaped: {debug}");
            let json = serde_json::to_string(&text).unwrap();
            assert!(!json.chars().any(|c| c < ' '), "{:x} raw in JSON: {json}", u32::from(c));
            assert_eq!(serde_json::from_str::<String>(&json).unwrap(), text);
        }
    }

    #[test]
    fn escaped_text_holds_no_control_character_and_no_bare_quote() {
        let text = "x\" user=admin\n2026-01-01 INFO token issued user=admin\r\x1b[31m\\\u{202e}é";
        let shown = Escaped(text).to_string();
        assert_eq!(
            shown,
            "\"x\\\" user=admin\\n2026-01-01 INFO token issued user=admin\\r\\u{1b}[31m\\\\\\u{202e}é\""
        );
        assert!(!shown.chars().any(is_control), "{shown}");
        assert_eq!(Escaped("alice").to_string(), "\"alice\"");
    }
}

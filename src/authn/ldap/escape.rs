//! Escaping user input for LDAP filters (RFC 4515) and DNs (RFC 4514), filling `${...}`
//! templates, and reading the first RDN value of a DN (how a group DN becomes a group name).

/// `value` escaped for use inside an LDAP search filter (RFC 4515 section 3): `*`, `(`, `)`,
/// `\` and NUL become `\2a`, `\28`, `\29`, `\5c` and `\00`; everything else is kept.
pub fn escape_filter_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => escaped.push_str("\\2a"),
            '(' => escaped.push_str("\\28"),
            ')' => escaped.push_str("\\29"),
            '\\' => escaped.push_str("\\5c"),
            '\0' => escaped.push_str("\\00"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// `value` escaped as an attribute value inside a DN (RFC 4514 section 2.4): `, + " \ < > ; =`
/// get a backslash, as do a leading space or `#` and a trailing space; NUL becomes `\00`.
pub fn escape_dn_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len() + 2);
    let last = value.chars().count().saturating_sub(1);
    for (index, c) in value.chars().enumerate() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' => {
                escaped.push('\\');
                escaped.push(c);
            }
            '\0' => escaped.push_str("\\00"),
            ' ' | '#' if index == 0 => {
                escaped.push('\\');
                escaped.push(c);
            }
            ' ' if index == last => escaped.push_str("\\ "),
            other => escaped.push(other),
        }
    }
    escaped
}

/// `template` with every `${name}` replaced by its value, in one pass (a value containing
/// `${...}` is not expanded again); unknown names stay as written. Escape values first.
pub(super) fn fill_template(template: &str, values: &[(&str, &str)]) -> String {
    let mut filled = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        filled.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let known = after.find('}').and_then(|end| {
            let name = &after[..end];
            values.iter().find(|(candidate, _)| *candidate == name).map(|(_, value)| (*value, end))
        });
        match known {
            Some((value, end)) => {
                filled.push_str(value);
                rest = &after[end + 1..];
            }
            None => {
                filled.push_str("${");
                rest = after;
            }
        }
    }
    filled.push_str(rest);
    filled
}

/// The value of the first attribute of a DN's first RDN, unescaped:
/// `cn=developers,ou=groups,dc=example,dc=org` gives `developers`, `cn=R\2cD,ou=x` gives `R,D`.
/// `None` when the DN has no `=`.
pub fn first_rdn_value(dn: &str) -> Option<String> {
    let (_attribute, value) = dn.split_once('=')?;
    let value = value.trim_start();
    let mut bytes = Vec::with_capacity(value.len());
    // Unescaped trailing spaces are not part of the value (RFC 4514 section 3).
    let mut significant = 0;
    let mut chars = value.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            ',' | '+' | ';' => break,
            '\\' => {
                let hex = value.get(index + 1..index + 3).and_then(|pair| u8::from_str_radix(pair, 16).ok());
                if let Some(byte) = hex {
                    bytes.push(byte);
                    chars.next();
                    chars.next();
                } else if let Some((_, escaped)) = chars.next() {
                    push_char(&mut bytes, escaped);
                }
                significant = bytes.len();
            }
            ' ' => push_char(&mut bytes, ' '),
            other => {
                push_char(&mut bytes, other);
                significant = bytes.len();
            }
        }
    }
    bytes.truncate(significant);
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn push_char(bytes: &mut Vec<u8>, c: char) {
    let mut buffer = [0; 4];
    bytes.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_are_escaped_per_rfc_4515() {
        let cases = [
            ("alice", "alice"),
            ("*", "\\2a"),
            ("alice)(uid=*", "alice\\29\\28uid=\\2a"),
            ("*)(|(uid=*", "\\2a\\29\\28|\\28uid=\\2a"),
            ("back\\slash", "back\\5cslash"),
            ("nul\0byte", "nul\\00byte"),
            ("star*paren(", "star\\2aparen\\28"),
            ("jürgen", "jürgen"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(escape_filter_value(input), expected, "{input:?}");
        }
    }

    #[test]
    fn dn_values_are_escaped_per_rfc_4514() {
        let cases = [
            ("alice", "alice"),
            ("a,b", "a\\,b"),
            ("a+b", "a\\+b"),
            ("say \"hi\"", "say \\\"hi\\\""),
            ("back\\slash", "back\\\\slash"),
            ("<tag>", "\\<tag\\>"),
            ("a;b", "a\\;b"),
            ("uid=x", "uid\\=x"),
            (" lead", "\\ lead"),
            ("#hash", "\\#hash"),
            ("mid#dle", "mid#dle"),
            ("trail ", "trail\\ "),
            (" ", "\\ "),
            ("in side", "in side"),
            ("nul\0", "nul\\00"),
            ("star*(", "star*("),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(escape_dn_value(input), expected, "{input:?}");
        }
    }

    #[test]
    fn templates_are_filled() {
        let filled = fill_template("(&(member=${dn})(x=${user})(y=${user}))", &[("user", "a"), ("dn", "b")]);
        assert_eq!(filled, "(&(member=b)(x=a)(y=a))");
        assert_eq!(fill_template("(uid=${other})", &[("user", "a")]), "(uid=${other})");
        // A value containing a placeholder is not expanded again.
        assert_eq!(fill_template("${dn}|${user}", &[("dn", "${user}"), ("user", "x")]), "${user}|x");
        assert_eq!(fill_template("${user", &[("user", "a")]), "${user");
    }

    #[test]
    fn first_rdn_values_are_unescaped() {
        let cases = [
            ("cn=developers,ou=groups,dc=example,dc=org", Some("developers")),
            ("CN=Domain Admins,CN=Users,DC=corp,DC=example", Some("Domain Admins")),
            ("cn=R\\2cD,ou=x", Some("R,D")),
            ("cn=R\\,D,ou=x", Some("R,D")),
            ("cn=a+uid=b,ou=x", Some("a")),
            ("cn = spaced ,ou=x", Some("spaced")),
            ("cn=J\\C3\\BCrgen,ou=x", Some("Jürgen")),
            ("cn=trailing\\ ,ou=x", Some("trailing ")),
            ("cn=unescaped  ,ou=x", Some("unescaped")),
            ("cn=only", Some("only")),
            ("no-equals-sign", None),
        ];
        for (dn, expected) in cases {
            assert_eq!(first_rdn_value(dn).as_deref(), expected, "{dn:?}");
        }
    }
}

//! Repository patterns (`team/**`, `library/*`, `${user}/**`) and the distribution name grammar.
//!
//! `*` matches within one path segment; `**` is a whole segment matching one or more segments, so
//! `team/**` matches everything strictly below `team/` and `**` alone matches every name.
//! `${user}` is the login name, substituted only when it is one valid path component.

use std::borrow::Cow;

/// The longest repository name the distribution spec accepts.
const NAME_MAX_LEN: usize = 255;

/// A validated repository pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepositoryPattern {
    segments: Vec<Segment>,
}

/// One `/`-separated piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `**`: one or more whole segments.
    AnyDepth,
    /// Literal text, `*` and `${user}` within one segment, as the chunks between the `*`s:
    /// `a*b${user}*` is `[a] [b ${user}] []`, and a segment without `*` is one chunk.
    Stars(Vec<Chunk>),
}

/// The text between two `*` of a segment (or before the first, or after the last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Chunk(Vec<Part>);

/// A piece of a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Text matched as is.
    Literal(String),
    /// `${user}`: the login name.
    User,
}

/// A parsed pattern plus notes that are not errors (e.g. a segment no valid name can have).
#[derive(Debug)]
pub(crate) struct ParsedPattern {
    /// The pattern.
    pub(crate) pattern: RepositoryPattern,
    /// Warnings about the pattern.
    pub(crate) warnings: Vec<String>,
}

impl RepositoryPattern {
    /// Parses and validates a pattern; the error says what is wrong.
    pub(crate) fn parse(text: &str) -> Result<ParsedPattern, String> {
        if text.is_empty() {
            return Err("empty repository pattern".to_owned());
        }
        let mut segments = Vec::new();
        let mut warnings = Vec::new();
        for (index, segment) in text.split('/').enumerate() {
            let parsed = parse_segment(segment)?;
            if let Segment::Stars(chunks) = &parsed
                && let [Chunk(parts)] = chunks.as_slice()
                && let [Part::Literal(literal)] = parts.as_slice()
                && !is_valid_component(literal)
                && !(index == 0 && is_valid_domain(literal))
            {
                warnings.push(format!("pattern segment {literal:?} can never match a valid repository name"));
            }
            segments.push(parsed);
        }
        Ok(ParsedPattern { pattern: Self { segments }, warnings })
    }

    /// Whether the pattern mentions `${user}`.
    pub(crate) fn uses_user(&self) -> bool {
        self.segments.iter().any(|segment| match segment {
            Segment::AnyDepth => false,
            Segment::Stars(chunks) => chunks.iter().any(|chunk| chunk.0.contains(&Part::User)),
        })
    }

    /// Whether the pattern covers every namespace: its first segment is `**` or a bare `*`
    /// (`**`, `*`, `*/**`, `**/app`, `*/app`), so it names no owner, team or `${user}`.
    pub(crate) fn is_broad(&self) -> bool {
        match self.segments.first() {
            Some(Segment::AnyDepth) => true,
            Some(Segment::Stars(chunks)) => chunks.len() > 1 && chunks.iter().all(|chunk| chunk.0.is_empty()),
            None => false,
        }
    }

    /// Whether `name` matches; `user` is the login name (`None` for anonymous).
    ///
    /// Takes time linear in the pattern's segments times the name's segments, plus linear in
    /// the text within each compared segment pair: no pattern backtracks exponentially.
    pub(crate) fn matches(&self, name: &str, user: Option<&str>) -> bool {
        let user = user.filter(|user| is_valid_component(user));
        if user.is_none() && self.uses_user() {
            return false;
        }
        let names: Vec<&str> = name.split('/').collect();
        match_segments(&self.segments, &names, user.unwrap_or_default())
    }
}

/// Parses one `/`-separated segment of a pattern.
fn parse_segment(segment: &str) -> Result<Segment, String> {
    if segment.is_empty() {
        return Err("empty path segment in repository pattern".to_owned());
    }
    if segment == "**" {
        return Ok(Segment::AnyDepth);
    }
    if segment.contains("**") {
        return Err("`**` is only allowed as a whole path segment".to_owned());
    }
    let mut chunks = Vec::new();
    let mut chunk = Chunk::default();
    let mut literal = String::new();
    let mut rest = segment;
    while let Some(c) = rest.chars().next() {
        if c == '*' || rest.starts_with("${") {
            if !literal.is_empty() {
                chunk.0.push(Part::Literal(std::mem::take(&mut literal)));
            }
            if c == '*' {
                chunks.push(std::mem::take(&mut chunk));
                rest = &rest[1..];
            } else {
                rest = rest.strip_prefix("${user}").ok_or("unknown variable: only ${user} is supported")?;
                chunk.0.push(Part::User);
            }
            continue;
        }
        if c == '?' {
            return Err("`?` is not supported in repository patterns".to_owned());
        }
        if !is_pattern_literal_char(c) {
            return Err(format!(
                "character {c:?} is not allowed in a repository pattern \
                 (use a-z 0-9 . _ - : / * ${{user}})"
            ));
        }
        literal.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !literal.is_empty() {
        chunk.0.push(Part::Literal(literal));
    }
    chunks.push(chunk);
    Ok(Segment::Stars(chunks))
}

/// Whether `c` may appear literally in a pattern: the repository name characters.
fn is_pattern_literal_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | ':')
}

/// Matches pattern segments against name segments, by dynamic programming from the end:
/// `tail[j]` says whether the pattern segments after the current one match `names[j..]`.
/// Each (pattern segment, name segment) pair is compared at most once.
fn match_segments(pattern: &[Segment], names: &[&str], user: &str) -> bool {
    let count = names.len();
    let mut tail = vec![false; count + 1];
    tail[count] = true;
    let mut row = vec![false; count + 1];
    for segment in pattern.iter().rev() {
        row[count] = false; // every pattern segment takes at least one name segment
        for at in (0..count).rev() {
            row[at] = match segment {
                // `names[at]` alone, or it and one or more further segments.
                Segment::AnyDepth => tail[at + 1] || row[at + 1],
                Segment::Stars(chunks) => tail[at + 1] && match_stars(chunks, names[at], user),
            };
        }
        std::mem::swap(&mut tail, &mut row);
    }
    tail[0]
}

/// Matches the chunks of one segment against one name segment, in linear time: the first
/// chunk is a prefix, the last a suffix, and each chunk between takes its leftmost occurrence
/// (with only `*` between chunks, the leftmost occurrence never loses a match).
fn match_stars(chunks: &[Chunk], text: &str, user: &str) -> bool {
    let Some((first, rest)) = chunks.split_first() else {
        return text.is_empty();
    };
    let Some(mut text) = text.strip_prefix(first.text(user).as_ref()) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return text.is_empty(); // no `*` in the segment
    };
    for chunk in middle {
        let chunk = chunk.text(user);
        match text.find(chunk.as_ref()) {
            Some(at) => text = &text[at + chunk.len()..],
            None => return false,
        }
    }
    text.ends_with(last.text(user).as_ref())
}

impl Chunk {
    /// The chunk's text with `${user}` replaced by `user` (borrowed unless pieces are joined).
    fn text<'a>(&'a self, user: &'a str) -> Cow<'a, str> {
        let piece = |part: &'a Part| match part {
            Part::Literal(literal) => literal.as_str(),
            Part::User => user,
        };
        match self.0.as_slice() {
            [] => Cow::Borrowed(""),
            [part] => Cow::Borrowed(piece(part)),
            parts => Cow::Owned(parts.iter().map(piece).collect()),
        }
    }
}

/// Whether `name` is a valid repository name: `[domain/]component(/component)*`.
pub(crate) fn is_valid_repository_name(name: &str) -> bool {
    if name.is_empty() || name.len() > NAME_MAX_LEN {
        return false;
    }
    let segments: Vec<&str> = name.split('/').collect();
    if segments.iter().all(|s| is_valid_component(s)) {
        return true;
    }
    match segments.split_first() {
        Some((domain, path)) if !path.is_empty() => {
            is_valid_domain(domain) && path.iter().all(|s| is_valid_component(s))
        }
        _ => false,
    }
}

/// Whether `text` is one path component: `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`.
pub(crate) fn is_valid_component(text: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    // Every separator sits between two alphanumeric runs and is `.`, `_`, `__` or dashes.
    let separators_ok = text
        .split(alnum)
        .filter(|s| !s.is_empty())
        .all(|s| matches!(s, "." | "_" | "__") || s.bytes().all(|b| b == b'-'));
    text.starts_with(alnum) && text.ends_with(alnum) && separators_ok
}

/// Whether `text` is `host[:port]` as the distribution grammar allows it (no IPv6 literals).
fn is_valid_domain(text: &str) -> bool {
    let (host, port) = match text.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    host.split('.').all(label_ok) && port_ok
}

#[cfg(test)]
pub(super) mod linear_tests;
#[cfg(test)]
mod tests;

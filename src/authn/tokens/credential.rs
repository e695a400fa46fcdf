//! The access-token secret: `regent_pat_<id>_<secret>` (personal) or `regent_rbt_<id>_<secret>`
//! (robot), lower-case hex. The fixed prefix and charset let secret scanners find leaked ones;
//! the id makes the lookup a map access; only the SHA-256 of the whole text is stored.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::secret::Secret;
use crate::subject::SubjectKind;

/// The prefix of a personal access token.
pub const PERSONAL_PREFIX: &str = "regent_pat_";
/// The prefix of a robot's access token.
pub const ROBOT_PREFIX: &str = "regent_rbt_";
/// Random bytes in a token id (64 bits: unique, not secret).
const ID_BYTES: usize = 8;
/// Random bytes in the secret part (192 bits).
const SECRET_BYTES: usize = 24;

/// A token text split into its parts (nothing checked against the store yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedToken<'a> {
    /// Personal or robot, from the prefix.
    pub kind: SubjectKind,
    /// The token id.
    pub id: &'a str,
}

/// Reads the prefix and the id of `text`; `None` when it does not look like an access token.
pub fn parse(text: &str) -> Option<ParsedToken<'_>> {
    let (kind, rest) = if let Some(rest) = text.strip_prefix(PERSONAL_PREFIX) {
        (SubjectKind::Person, rest)
    } else if let Some(rest) = text.strip_prefix(ROBOT_PREFIX) {
        (SubjectKind::Robot, rest)
    } else {
        return None;
    };
    let (id, secret) = rest.split_once('_')?;
    (is_hex(id, ID_BYTES) && is_hex(secret, SECRET_BYTES)).then_some(ParsedToken { kind, id })
}

/// Whether `text` is exactly `bytes` bytes in lower-case hex.
fn is_hex(text: &str, bytes: usize) -> bool {
    text.len() == 2 * bytes && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A new token of `kind`: its id and its full secret text.
pub fn generate(kind: SubjectKind) -> Result<(String, Secret), aws_lc_rs::error::Unspecified> {
    let rng = SystemRandom::new();
    let mut id = [0u8; ID_BYTES];
    let mut secret = [0u8; SECRET_BYTES];
    rng.fill(&mut id)?;
    rng.fill(&mut secret)?;
    let prefix = match kind {
        SubjectKind::Person => PERSONAL_PREFIX,
        SubjectKind::Robot => ROBOT_PREFIX,
    };
    let id = hex(&id);
    let text = format!("{prefix}{id}_{}", hex(&secret));
    Ok((id, Secret::new(text)))
}

/// The stored form of a token text: `sha256:` and the hex digest.
pub fn hash(text: &str) -> String {
    format!("sha256:{}", hex(digest(&SHA256, text.as_bytes()).as_ref()))
}

/// Whether `text` hashes to `stored`, compared in constant time.
pub fn matches(text: &str, stored: &str) -> bool {
    verify_slices_are_equal(hash(text).as_bytes(), stored.as_bytes()).is_ok()
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

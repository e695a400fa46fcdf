//! The libtrust key ID that registry 2.8 matches against its `rootcertbundle`.

use aws_lc_rs::digest;

/// How many bytes of the SHA-256 digest the ID keeps (240 bits, 48 base32 characters).
const KID_DIGEST_BYTES: usize = 30;
/// Characters per colon-separated group.
const KID_GROUP_CHARS: usize = 4;

/// The libtrust key ID of a DER SubjectPublicKeyInfo.
///
/// SHA-256 of the DER, first 30 bytes, base32 (RFC 4648, upper case, no padding), in 12 groups
/// of 4 characters joined by `:`.
pub fn libtrust_kid(spki_der: &[u8]) -> String {
    let hash = digest::digest(&digest::SHA256, spki_der);
    let encoded = data_encoding::BASE32_NOPAD.encode(&hash.as_ref()[..KID_DIGEST_BYTES]);
    let mut kid = String::with_capacity(encoded.len() + encoded.len() / KID_GROUP_CHARS);
    for (index, character) in encoded.chars().enumerate() {
        if index > 0 && index % KID_GROUP_CHARS == 0 {
            kid.push(':');
        }
        kid.push(character);
    }
    kid
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a test vector certificate and returns its DER SubjectPublicKeyInfo.
    fn spki_of(file: &str) -> Vec<u8> {
        let path = format!("{}/tests/data/kid/{file}", env!("CARGO_MANIFEST_DIR"));
        let pem_text = std::fs::read(&path).unwrap();
        let block = pem::parse(pem_text).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(block.contents()).unwrap();
        cert.tbs_certificate.subject_pki.raw.to_vec()
    }

    /// The expected kid of each vector, from `EXPECTED.txt`.
    fn expected() -> Vec<(String, String)> {
        let path = format!("{}/tests/data/kid/EXPECTED.txt", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                Some((fields.next()?.to_owned(), fields.next()?.to_owned()))
            })
            .collect()
    }

    #[test]
    fn kid_matches_the_libtrust_vectors() {
        let vectors = expected();
        assert_eq!(vectors.len(), 2, "EXPECTED.txt holds the rsa and ec vectors");
        for (file, kid) in vectors {
            assert_eq!(libtrust_kid(&spki_of(&file)), kid, "{file}");
        }
    }

    #[test]
    fn kid_shape_is_twelve_upper_case_groups_of_four() {
        let kid = libtrust_kid(b"any bytes");
        let groups: Vec<&str> = kid.split(':').collect();
        assert_eq!(groups.len(), 12);
        assert!(groups.iter().all(|group| group.len() == 4));
        assert!(kid.chars().all(|c| c == ':' || c.is_ascii_uppercase() || ('2'..='7').contains(&c)));
    }
}

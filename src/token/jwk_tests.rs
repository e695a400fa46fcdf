//! RFC 7638 thumbprints against RFC 7638's own example and Go-computed vectors, and the JWKS
//! entry shapes.

use super::*;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

/// RFC 7638 section 3.1: the example RSA key and its SHA-256 thumbprint.
const RFC_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
const RFC_E: &str = "AQAB";
const RFC_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

fn decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

fn sha256_b64(text: &str) -> String {
    b64(digest::digest(&digest::SHA256, text.as_bytes()).as_ref())
}

/// The JWK of a certificate file in `tests/data/kid/`.
fn jwk_of(file: &str) -> PublicJwk {
    let path = format!("{}/tests/data/kid/{file}", env!("CARGO_MANIFEST_DIR"));
    let block = pem::parse(std::fs::read(path).unwrap()).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(block.contents()).unwrap();
    PublicJwk::from_spki(cert.public_key()).unwrap()
}

#[test]
fn the_rfc_7638_example_key_has_the_rfcs_thumbprint() {
    let jwk = PublicJwk::Rsa { n: decode(RFC_N), e: decode(RFC_E) };
    assert_eq!(jwk.thumbprint(), RFC_THUMBPRINT);
    // A DER INTEGER carries a zero sign byte before a modulus whose top bit is set: Go's
    // big.Int.Bytes() (and so registry 3) never sees it, and neither does the thumbprint.
    let mut with_sign_byte = vec![0u8];
    with_sign_byte.extend(decode(RFC_N));
    let jwk = PublicJwk::Rsa { n: with_sign_byte, e: vec![0, 1, 0, 1] };
    assert_eq!(jwk.thumbprint(), RFC_THUMBPRINT);
}

/// `tests/data/kid/RFC7638.txt` was computed by a stdlib-only Go program (x509 parse,
/// `big.Int.Bytes()`, sha256): the same arithmetic as distribution 3.1's `GetJWKThumbprint`.
/// `ec-leading-zero.crt` has an x coordinate starting with a zero byte.
#[test]
fn certificate_thumbprints_match_the_go_computed_vectors() {
    let path = format!("{}/tests/data/kid/RFC7638.txt", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let vectors: Vec<(&str, &str)> =
        text.lines().filter(|line| !line.starts_with('#')).filter_map(|line| line.split_once(' ')).collect();
    assert_eq!(vectors.len(), 4);
    for (file, expected) in vectors {
        assert_eq!(jwk_of(file).thumbprint(), expected, "{file}");
    }
    let PublicJwk::P256 { x, .. } = jwk_of("ec-leading-zero.crt") else { panic!("not EC") };
    assert_eq!((x.len(), x[0]), (32, 0), "the vector's x keeps its zero byte in the JWK");
}

/// About one P-256 key in 128 has a coordinate starting with a zero byte. distribution hashes
/// `big.Int.Bytes()` of each coordinate, which drops that byte; strict RFC 7638 (and go-jose's
/// own `Thumbprint`) would keep all 32 bytes. The registry's value is the one that matters.
#[test]
fn an_ec_coordinate_with_a_leading_zero_byte_is_hashed_stripped_as_go_does() {
    let (x, y) = (0..20_000)
        .find_map(|_| {
            let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
            let point = key.public_key().as_ref().to_vec();
            let (x, y) = point[1..].split_at(32);
            (x[0] == 0 || y[0] == 0).then(|| (x.to_vec(), y.to_vec()))
        })
        .expect("a key with a leading zero byte within 20,000 tries");
    let jwk = PublicJwk::P256 { x: x.clone(), y: y.clone() };
    let go_style =
        format!(r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#, b64(strip(&x)), b64(strip(&y)));
    let strict = format!(r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#, b64(&x), b64(&y));
    assert_eq!(jwk.thumbprint(), sha256_b64(&go_style));
    assert_ne!(jwk.thumbprint(), sha256_b64(&strict));
    // The JWKS member stays at 32 bytes: go-jose refuses a shorter coordinate.
    let entry = jwk.to_json("k", "ES256", None);
    assert_eq!(decode(entry["x"].as_str().unwrap()).len(), 32);
    assert_eq!(decode(entry["y"].as_str().unwrap()).len(), 32);
}

#[test]
fn jwks_entries_have_the_members_of_their_key_type() {
    let rsa = jwk_of("rsa.crt").to_json("kid-rsa", "RS256", None);
    assert_eq!(rsa["kty"], "RSA");
    assert_eq!(rsa["e"], "AQAB");
    assert_eq!(decode(rsa["n"].as_str().unwrap()).len(), 256, "n without its DER sign byte");
    let ec = jwk_of("ec.crt").to_json("kid-ec", "ES256", Some(&["AAAA".to_owned()]));
    assert_eq!((ec["kty"].as_str(), ec["crv"].as_str()), (Some("EC"), Some("P-256")));
    assert_eq!(ec["x5c"], serde_json::json!(["AAAA"]));
    let ed = jwk_of("ed25519.crt").to_json("kid-ed", "EdDSA", None);
    assert_eq!((ed["kty"].as_str(), ed["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
    assert_eq!(decode(ed["x"].as_str().unwrap()).len(), 32);
    for (entry, kid, alg) in [(&rsa, "kid-rsa", "RS256"), (&ec, "kid-ec", "ES256"), (&ed, "kid-ed", "EdDSA")]
    {
        assert_eq!(entry["kid"], kid);
        assert_eq!(entry["alg"], alg);
        assert_eq!(entry["use"], "sig");
        assert!(entry.get("d").is_none(), "no private member");
    }
    assert!(rsa.get("x5c").is_none());
}

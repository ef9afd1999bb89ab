use super::http::dechunk;
use super::*;

#[test]
fn chunked_bodies_decode_and_malformed_ones_do_not() {
    assert_eq!(
        dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap(),
        b"abcde"
    );
    assert_eq!(dechunk(b"5\r\nabc"), None);
    assert_eq!(dechunk(b"zz\r\nabc\r\n0\r\n\r\n"), None);
    assert_eq!(dechunk(b""), None);
}

#[test]
fn times_read_as_rfc3339() {
    assert_eq!(rfc3339("20261206045522Z"), "2026-12-06T04:55:22Z");
    assert_eq!(rfc3339("20261206045522.125Z"), "2026-12-06T04:55:22.125Z");
    assert_eq!(rfc3339("2026\u{1b}[31m"), "2026\\u{1b}[31m");
}

#[test]
fn oids_print_dotted() {
    assert_eq!(der::dotted(x509::SHA256), "2.16.840.1.101.3.4.2.1");
    assert_eq!(der::dotted(cms::TST_INFO), "1.2.840.113549.1.9.16.1.4");
    assert_eq!(der::dotted(&[0x2a, 0x86]), "(malformed OID)");
}

/// A request is DER that reads back: version 1, SHA-256 of the message, the nonce, certReq.
#[test]
fn requests_are_well_formed() {
    let nonce = [0x41, 1, 2, 3, 4, 5, 6, 7];
    let req = request_der(b"hello\n", &nonce);
    let top = der::single(&req, SEQUENCE, "req").unwrap();
    let mut r = top.inner();
    assert_eq!(r.expect(INTEGER, "v").unwrap().content, [1]);
    let mut imprint = r.expect(SEQUENCE, "imprint").unwrap().inner();
    assert_eq!(
        der::algorithm(imprint.any("alg").unwrap(), "alg").unwrap(),
        x509::SHA256
    );
    assert_eq!(
        imprint.expect(OCTET_STRING, "digest").unwrap().content,
        Hash::Sha256.digest(b"hello\n")
    );
    assert_eq!(r.expect(INTEGER, "nonce").unwrap().content, nonce);
    assert_eq!(r.expect(BOOLEAN, "certReq").unwrap().content, [0xff]);
    assert!(r.is_empty());
}

/// Whatever the bytes, reading them as a token, a response or a certificate is an error or a
/// value, never a panic.
#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for len in 0..600 {
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if let Some(b) = bytes.first_mut() {
            *b = [0x30, 0x31, 0xa0, 0x02][(next() % 4) as usize];
        }
        let _ = TimestampToken::from_der(&bytes);
        let _ = TimestampToken::from_response(&bytes);
        let _ = Certificate::from_der(&bytes);
        let _ = dechunk(&bytes);
    }
}

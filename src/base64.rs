//! Base64, standard alphabet with padding (RFC 4648, section 4): signed notes and their keys,
//! PEM certificates, and AWS event streams' `bytes`. Decoding takes only the canonical form.
//!
//! Uses only the standard library.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Each byte's value in [`ALPHABET`], or `INVALID`: one lookup a character (a file of a
/// megabyte sent as a `data:` URL is decoded on a request's path).
const VALUES: [u8; 256] = {
    let mut values = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        values[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    values
};
const INVALID: u8 = 0xff;

/// Standard base64 with padding (RFC 4648, section 4).
#[cfg(any(feature = "ed25519", test))]
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes canonical padded base64; `None` for anything else (wrong length, stray characters,
/// non-zero bits under the padding).
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (at, quad) in bytes.chunks(4).enumerate() {
        let last = at + 1 == bytes.len() / 4;
        let pad = quad.iter().rev().take_while(|b| **b == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for (i, b) in quad[..4 - pad].iter().enumerate() {
            let v = match VALUES[usize::from(*b)] {
                INVALID => return None,
                v => u32::from(v),
            };
            n |= v << (18 - 6 * i);
        }
        let got = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let keep = 3 - pad;
        if got[keep..].iter().any(|b| *b != 0) {
            return None;
        }
        out.extend_from_slice(&got[..keep]);
    }
    Some(out)
}

#[cfg(all(test, feature = "ed25519"))]
mod tests {
    use super::{decode, encode};

    #[test]
    fn round_trips_and_refuses_the_non_canonical() {
        for len in 0..100usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let text = encode(&bytes);
            assert_eq!(decode(&text).unwrap(), bytes, "length {len}");
        }
        assert_eq!(encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode(b"fo"), "Zm8=");
        for bad in ["Zm8", "Zm9=", "Z===", "Zm8=Zm8=", "Zm 8", "Zm8-"] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }
}

//! SHA-256 chaining, HMAC-SHA256 signatures and the canonical entry body.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::json::canonical::{self, Style};
use crate::json::parse::Node;
use crate::json::value::Map;

/// The `prev_hash` of the first entry: 64 `0` characters.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.extend_from_slice(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]]);
    }
    // Hex digits are ASCII: this never falls back.
    String::from_utf8(out).unwrap_or_default()
}

/// `hex(sha256(prev_hash + body))`: the link hash of `acttrace-chain/1`.
pub(crate) fn link_hash(prev_hash: &str, body: &str) -> String {
    String::from_utf8_lossy(&link_hash_hex(prev_hash.as_bytes(), body.as_bytes())).into_owned()
}

/// `sha256(prev_hash + body)` as lowercase hex ASCII, without allocating.
pub(crate) fn link_hash_hex(prev_hash: &[u8], body: &[u8]) -> [u8; 64] {
    link_hash_hex_parts(prev_hash, &[body])
}

/// `sha256(prev_hash + body)` as hex ASCII, with the body given in pieces (not assembled).
pub(crate) fn link_hash_hex_parts(prev_hash: &[u8], parts: &[&[u8]]) -> [u8; 64] {
    let mut h = Sha256::new();
    h.update(prev_hash);
    for p in parts {
        h.update(p);
    }
    hex64(&h.finalize())
}

fn hex64(digest: &[u8]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in digest.iter().take(32).enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
    }
    out
}

/// Lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Writes the hashed body `{"payload":…,"seq":…,"ts":…,"type":…}` of an entry being written.
pub(crate) fn write_body(out: &mut String, seq: u64, ts: &str, kind: &str, payload: &Map) {
    let mut canonical_payload = String::new();
    canonical::write_map(&mut canonical_payload, payload, Style::Canonical);
    let mut kind_json = String::new();
    canonical::write_str(&mut kind_json, kind);
    write_body_parts(out, seq, ts, &kind_json, &canonical_payload);
}

/// [`write_body`] from parts already written: the type as a JSON string and the payload in
/// canonical form (what the writer receives, laid out before it).
pub(crate) fn write_body_parts(
    out: &mut String,
    seq: u64,
    ts: &str,
    kind_json: &str,
    canonical_payload: &str,
) {
    out.push_str("{\"payload\":");
    out.push_str(canonical_payload);
    out.push_str(",\"seq\":");
    canonical::write_padded(out, seq, 1);
    out.push_str(",\"ts\":");
    canonical::write_str(out, ts);
    out.push_str(",\"type\":");
    out.push_str(kind_json);
    out.push('}');
}

/// Writes the hashed body of a parsed line; its fields may be of any JSON type.
pub(crate) fn write_body_node(
    out: &mut String,
    seq: Node<'_>,
    ts: Node<'_>,
    kind: Node<'_>,
    payload: Node<'_>,
) {
    out.push_str("{\"payload\":");
    canonical::write_node(out, payload);
    out.push_str(",\"seq\":");
    canonical::write_node(out, seq);
    out.push_str(",\"ts\":");
    canonical::write_node(out, ts);
    out.push_str(",\"type\":");
    canonical::write_node(out, kind);
    out.push('}');
}

/// Constant-time equality of two byte strings (time depends only on the lengths).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An HMAC-SHA256 signing key.
///
/// Each entry's `sig` is the HMAC of its 64-character `hash` under this key. The reference
/// encodes text keys as UTF-8, and so does [`SigningKey::from`]`(&str)`. The key's bytes never
/// appear in `Debug` output.
///
/// ```
/// use acttrace::chain::SigningKey;
///
/// let key = SigningKey::from("test-signing-key-01");
/// assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// A key from raw bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// Whether the key has no bytes: HMAC takes it, but it vouches for nothing, and is
    /// always a mistake (an unset variable read as empty).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"))
    }

    /// `hex(HMAC-SHA256(key, message))`.
    pub fn sign(&self, message: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(message);
        hex(&mac.finalize().into_bytes())
    }

    /// Whether `sig` is exactly `hex(HMAC-SHA256(key, message))`, compared in constant time.
    pub fn verify(&self, message: &[u8], sig: &str) -> bool {
        ct_eq(self.sign(message).as_bytes(), sig.as_bytes())
    }
}

impl From<&str> for SigningKey {
    fn from(key: &str) -> Self {
        Self(key.as_bytes().to_vec())
    }
}

impl From<String> for SigningKey {
    fn from(key: String) -> Self {
        Self(key.into_bytes())
    }
}

impl From<&[u8]> for SigningKey {
    fn from(key: &[u8]) -> Self {
        Self(key.to_vec())
    }
}

impl From<Vec<u8>> for SigningKey {
    fn from(key: Vec<u8>) -> Self {
        Self(key)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_reference_signature() {
        // valid/v_basic_signed.jsonl, seq 0.
        let key = SigningKey::from("test-signing-key-01");
        let hash = "4f98840b471811ab916b01387768273cf938cda5045f07743fd0ac953d0d8230";
        let sig = "b14c868f55e219ccdf940bda415d881e1dd07af5440b415a95bf5eb05617e752";
        assert_eq!(key.sign(hash.as_bytes()), sig);
        assert!(key.verify(hash.as_bytes(), sig));
        assert!(!key.verify(hash.as_bytes(), &sig.to_uppercase()));
        assert!(!SigningKey::from("wrong-key").verify(hash.as_bytes(), sig));
    }

    #[test]
    fn ct_eq_basics() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}

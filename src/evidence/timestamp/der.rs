//! Just enough DER to read timestamp tokens and certificates: definite lengths, low tag
//! numbers, every read bounds-checked. Anything else is an error, never a panic.

use std::fmt::Write as _;

use super::TimestampError;

pub(super) const SEQUENCE: u8 = 0x30;
pub(super) const SET: u8 = 0x31;
pub(super) const INTEGER: u8 = 0x02;
pub(super) const BIT_STRING: u8 = 0x03;
pub(super) const OCTET_STRING: u8 = 0x04;
pub(super) const NULL: u8 = 0x05;
pub(super) const OID: u8 = 0x06;
pub(super) const BOOLEAN: u8 = 0x01;
pub(super) const UTC_TIME: u8 = 0x17;
pub(super) const GENERALIZED_TIME: u8 = 0x18;

/// A context-specific constructed tag `[n]`.
pub(super) const fn context(n: u8) -> u8 {
    0xa0 | n
}

/// One element: its tag, its content, and its whole encoding (header and content).
#[derive(Debug, Clone, Copy)]
pub(super) struct Tlv<'a> {
    pub(super) tag: u8,
    pub(super) content: &'a [u8],
    pub(super) raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// A reader over this element's content.
    pub(super) fn inner(&self) -> Reader<'a> {
        Reader(self.content)
    }
}

/// Reads elements one after another.
#[derive(Debug, Clone)]
pub(super) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.0.first().copied()
    }

    /// The next element, whatever its tag.
    pub(super) fn any(&mut self, what: &str) -> Result<Tlv<'a>, TimestampError> {
        let bad = || TimestampError::Malformed(format!("{what}: bad DER"));
        let bytes = self.0;
        let tag = *bytes.first().ok_or_else(bad)?;
        if tag & 0x1f == 0x1f {
            return Err(bad());
        }
        let first = *bytes.get(1).ok_or_else(bad)?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(bad());
            }
            let len_bytes = bytes.get(2..2 + n).ok_or_else(bad)?;
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + n)
        };
        let end = header.checked_add(len).ok_or_else(bad)?;
        let raw = bytes.get(..end).ok_or_else(bad)?;
        self.0 = &bytes[end..];
        Ok(Tlv {
            tag,
            content: &raw[header..],
            raw,
        })
    }

    /// The next element, which must have `tag`.
    pub(super) fn expect(&mut self, tag: u8, what: &str) -> Result<Tlv<'a>, TimestampError> {
        let tlv = self.any(what)?;
        if tlv.tag != tag {
            return Err(TimestampError::Malformed(format!(
                "{what}: expected tag {tag:#04x}, found {:#04x}",
                tlv.tag
            )));
        }
        Ok(tlv)
    }

    /// The next element if it has `tag`.
    pub(super) fn optional(
        &mut self,
        tag: u8,
        what: &str,
    ) -> Result<Option<Tlv<'a>>, TimestampError> {
        if self.peek_tag() == Some(tag) {
            self.expect(tag, what).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Reads `bytes` as exactly one element with `tag`.
pub(super) fn single<'a>(bytes: &'a [u8], tag: u8, what: &str) -> Result<Tlv<'a>, TimestampError> {
    let mut r = Reader::new(bytes);
    let tlv = r.expect(tag, what)?;
    if !r.is_empty() {
        return Err(TimestampError::Malformed(format!("{what}: trailing bytes")));
    }
    Ok(tlv)
}

/// An AlgorithmIdentifier's OID (its parameters are not needed for the algorithms read here).
pub(super) fn algorithm<'a>(tlv: Tlv<'a>, what: &str) -> Result<&'a [u8], TimestampError> {
    if tlv.tag != SEQUENCE {
        return Err(TimestampError::Malformed(format!(
            "{what}: not an algorithm"
        )));
    }
    Ok(tlv.inner().expect(OID, what)?.content)
}

/// An INTEGER's magnitude bytes, without the sign padding.
pub(super) fn unsigned(content: &[u8]) -> &[u8] {
    let zeros = content.iter().take_while(|b| **b == 0).count();
    &content[zeros.min(content.len().saturating_sub(1))..]
}

/// An OID in dotted form, for messages.
pub(super) fn dotted(oid: &[u8]) -> String {
    let mut out = String::new();
    let mut value: u64 = 0;
    for (i, b) in oid.iter().enumerate() {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if out.is_empty() {
                let (first, second) = if value < 80 {
                    (value / 40, value % 40)
                } else {
                    (2, value - 80)
                };
                let _ = write!(out, "{first}.{second}");
            } else {
                let _ = write!(out, ".{value}");
            }
            value = 0;
        } else if i + 1 == oid.len() || value > u64::MAX >> 7 {
            return "(malformed OID)".to_owned();
        }
    }
    out
}

/// A UTCTime or GeneralizedTime as `YYYYMMDDHHMMSS` (seconds precision, UTC), which compares
/// in time order as text.
pub(super) fn time(tlv: Tlv<'_>, what: &str) -> Result<String, TimestampError> {
    let text = std::str::from_utf8(tlv.content)
        .map_err(|_| TimestampError::Malformed(format!("{what}: not a time")))?;
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let full = match (tlv.tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy: u32 = digits[..2].parse().unwrap_or(0);
            format!("{}{digits}", if yy < 50 { "20" } else { "19" })
        }
        (GENERALIZED_TIME, 14) => digits,
        _ => {
            return Err(TimestampError::Malformed(format!(
                "{what}: not a time: {text:?}"
            )));
        }
    };
    if !text.ends_with('Z') {
        return Err(TimestampError::Malformed(format!(
            "{what}: not a UTC time: {text:?}"
        )));
    }
    Ok(full)
}

/// Writes a DER header for `len` content bytes with `tag`.
pub(super) fn header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// `tag` around `content`.
pub(super) fn wrap(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    header(&mut out, tag, content.len());
    out.extend_from_slice(content);
    out
}

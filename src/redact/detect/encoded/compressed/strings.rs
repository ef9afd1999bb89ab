//! The text inside a binary file: its runs of printable characters, as `strings` lists them,
//! in one byte a character (ASCII, as a legacy Word document stores a piece of its text in
//! Windows-1252) and in UTF-16LE (as Windows stores strings: a
//! Word document's other pieces, an Excel sheet's, an Outlook message's properties, a text
//! file Notepad saved as "Unicode" among the parts of an upload).
//!
//! Uses `memchr`.

/// How many characters a run holds at least to be read: shorter ones are mostly bytes of
/// the binary structure around the text that happen to be printable.
const MIN_STRING: usize = 6;

/// The runs of text in `bytes`, a line each: those in one byte a character, then those in
/// UTF-16LE.
pub(super) fn strings(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut lines = Lines::new(&mut out);
    for &b in bytes {
        match narrow(b) {
            Some(c) => lines.push(c),
            None => lines.end(),
        }
    }
    lines.end();
    wide_strings_into(bytes, &mut out);
    out
}

/// The runs of UTF-16LE text in `bytes`, a line each (those of UTF-16BE too, but for their
/// last character: its units are the same bytes, one later): each is a chain of printable
/// characters of the first 256 followed by a NUL byte, found from one NUL to the next.
#[cfg(any(test, feature = "server"))]
pub(crate) fn wide_strings(bytes: &[u8]) -> String {
    let mut out = String::new();
    wide_strings_into(bytes, &mut out);
    out
}

fn wide_strings_into(bytes: &[u8], out: &mut String) {
    let mut lines = Lines::new(out);
    // The NUL of the run's last unit.
    let mut last = None;
    for nul in memchr::memchr_iter(0, bytes) {
        let Some(c) = nul.checked_sub(1).and_then(|at| wide(bytes[at])) else {
            lines.end();
            last = None;
            continue;
        };
        if last.is_some_and(|last| last + 2 != nul) {
            lines.end();
        }
        lines.push(c);
        last = Some(nul);
    }
    lines.end();
}

/// A character of text in one byte: printable ASCII, a tab or a line break. (The letters
/// of Windows-1252 above ASCII are not taken: random bytes are mostly such, and would read as
/// text; a run of text is cut at one, and the ASCII around it is still read.)
fn narrow(b: u8) -> Option<char> {
    matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0x7e).then_some(char::from(b))
}

/// A character of text as the first byte of a UTF-16LE unit whose second is NUL: printable
/// ASCII, a tab or a line break, or a printable character of Latin-1.
fn wide(b: u8) -> Option<char> {
    matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0x7e | 0xa0..=0xff).then_some(char::from(b))
}

/// Runs of characters written to a string a line each, those shorter than [`MIN_STRING`]
/// taken back.
struct Lines<'a> {
    out: &'a mut String,
    start: usize,
    chars: usize,
}

impl<'a> Lines<'a> {
    fn new(out: &'a mut String) -> Self {
        let start = out.len();
        Self {
            out,
            start,
            chars: 0,
        }
    }

    fn push(&mut self, c: char) {
        self.out.push(c);
        self.chars += 1;
    }

    /// Ends the run: kept with a line break when long enough, else taken back.
    fn end(&mut self) {
        if self.chars >= MIN_STRING {
            self.out.push('\n');
        } else {
            self.out.truncate(self.start);
        }
        self.start = self.out.len();
        self.chars = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn runs_of_text_in_one_byte_and_in_two_are_read() {
        let mut bytes = vec![0xec, 0xa5, 0xc1, 0, 1, 2];
        bytes.extend_from_slice(b"Key: sk-proj-abc \x93quoted\x94 text\x00\x07ab\x00");
        bytes.extend([0xff, 0xfe]);
        bytes.extend(utf16le("пароль: hunter22 café\r\n"));
        bytes.extend([0x12, 0x34, 0, 0]);
        // Odd-aligned, and in big-endian order.
        bytes.push(7);
        bytes.extend(utf16le("token=abc123"));
        bytes.extend([7, 7]);
        bytes.extend("secret=xyz789".encode_utf16().flat_map(u16::to_be_bytes));
        let text = strings(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        // Windows-1252's quotes cut a run; a run shorter than six characters is not kept.
        assert!(lines.contains(&"Key: sk-proj-abc "), "{text:?}");
        assert!(lines.contains(&"quoted"), "{text:?}");
        assert!(!lines.contains(&" text"), "{text:?}");
        assert!(lines.contains(&": hunter22 café"), "{text:?}");
        assert!(lines.contains(&"token=abc123"), "{text:?}");
        // Big-endian: all but the last character.
        assert!(lines.contains(&"secret=xyz78"), "{text:?}");
        // The wide reading alone, of the same bytes.
        let wide = wide_strings(&bytes);
        assert!(wide.contains("token=abc123\n") && !wide.contains("sk-proj"));
    }

    #[test]
    fn random_bytes_yield_few_and_short_strings() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let bytes: Vec<u8> = (0..1 << 16)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        assert!(wide_strings(&bytes).is_empty());
        // One byte a character: a run of six printable ASCII bytes or more starts about once
        // in 500 bytes, and is about eight long.
        let narrow = strings(&bytes);
        assert!(narrow.len() < bytes.len() / 32, "{}", narrow.len());
    }
}

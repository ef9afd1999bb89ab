//! PDF files: the text a page shows, from its content streams (each decoded through the
//! filters its dictionary lists, [`filters`](mod@filters): `FlateDecode`, as nearly all are, and
//! `LZWDecode`, `ASCII85Decode`, `ASCIIHexDecode`, `RunLengthDecode`, as older writers
//! chain them): the literal strings the text operators
//! draw (`(...) Tj`, `[(...) -20 (...)] TJ`, whose pieces are joined, so that a word a
//! kerning array splits is whole again), and hex strings that hold text, or glyph numbers
//! (a subset font's, `Identity-H`, as PDFs made from office documents and browsers draw text)
//! that the fonts' `ToUnicode` maps turn into characters. Streams that are not text once
//! inflated (images, fonts) are passed over after a look at their start.
//!
//! The strings of the objects outside streams are read too: a filled form's values, an
//! annotation's text, the document's title (in PDFDocEncoding, or UTF-16BE after its byte
//! order mark, literal or hex).
//!
//! What it cannot read: glyph numbers in a hex string that no font's `ToUnicode` map gives
//! characters for, which are noted unread; a literal string in a font's own encoding (read
//! as Latin-1, as a ligature's code shows); a code whose maps disagree between fonts (all
//! fonts' maps are read as one: the first wins); text in an image (a scanned page); an
//! encrypted PDF that asks for a password, or whose security handler is not the standard one
//! (a PDF encrypted without a user password, which anyone opens, is decrypted and read: see
//! [`crypt`](mod@crypt)), a stream whose `Crypt` filter names a crypt filter other than
//! `Identity`, or a stream in a filter not known here, which are noted unread.
//!
//! Uses the budget of its parent, and `memchr`.

use super::super::{DATA_PROBE, is_text};
use super::archive::Opened;
use super::{Inflation, deflate_start};

mod crypt;
mod filters;

pub(in crate::redact::detect::encoded) use self::crypt::MAX_HARDENED;
use self::crypt::{Security, security};
use self::filters::{Filter, Undecoded, decode, filters};

/// Whether `bytes` start as a PDF file does.
pub(in crate::redact::detect::encoded) fn is_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
}

/// The text of the PDF file `bytes` start with: each content stream's strings, a line each
/// text operator (see the module's documentation), within the budget, then the strings of
/// the objects outside streams (a form field's value, an annotation's text, the document's
/// title); and how far the file runs (to its last `%%EOF`).
pub(in crate::redact::detect::encoded) fn pdf(bytes: &[u8], inflation: &mut Inflation) -> Opened {
    let extent = memchr::memmem::rfind(bytes, b"%%EOF").map_or(bytes.len(), |at| at + 5);
    let security = security(&bytes[..extent], &mut inflation.hardened_left);
    let mut text = String::new();
    let crypt = match &security {
        Security::Open(decryptor) => Some(decryptor),
        // More hardened keys than a reading derives: noted.
        Security::Spent => {
            inflation.unread.hardened = true;
            return Opened { text, extent };
        }
        Security::Plain | Security::Locked => None,
    };
    let mut pages = Vec::new();
    let mut codes = Codes::new();
    // The file's text between streams: its objects' dictionaries and arrays.
    let mut objects = Vec::new();
    let mut outside = 0;
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&bytes[from..], b"stream").map(|at| from + at) {
        from = at + b"stream".len();
        // `endstream` ends one; a stream's data starts after the keyword's line break.
        if bytes[..at].ends_with(b"end") {
            continue;
        }
        let start = match bytes.get(from..) {
            Some([b'\r', b'\n', ..]) => from + 2,
            Some([b'\n', ..]) => from + 1,
            _ => continue,
        };
        let end =
            memchr::memmem::find(&bytes[start..], b"endstream").map_or(bytes.len(), |n| start + n);
        from = end;
        // The stream's dictionary is looked for after the stream before it: streams packed
        // close are read in one pass.
        let before = &bytes[outside.min(at)..at];
        objects.push(before);
        outside = (end + b"endstream".len()).min(bytes.len());
        let raw = &bytes[start..end];
        let decrypted = crypt.and_then(|crypt| {
            let decrypted = crypt.stream(before, raw);
            // A stream whose object is not found: noted, as any encrypted one.
            inflation.unread.locked |= decrypted.is_none();
            decrypted
        });
        // An encrypted file's stream is read decrypted, and as it is too: in a file whose
        // encryption dictionary was planted where no reader looks (a comment), streams in the
        // clear are read as readers show them. Encrypted data read as it is decodes to nothing
        // at the first bytes.
        let listed = filters(before);
        for data in decrypted.as_deref().into_iter().chain([raw]) {
            let Some(content) = content(data, listed.clone(), inflation) else {
                continue;
            };
            // A font's `ToUnicode` map, or a page (or anything else of text) to read once
            // every map is known.
            if memchr::memmem::find(&content, b"begincmap").is_some() {
                codes.learn(&content);
            } else {
                pages.push(content);
            }
        }
    }
    for page in &pages {
        inflation.unread.glyphs |= strings(page, &codes, &mut text);
    }
    // Strings in objects are text strings (PDFDocEncoding, or UTF-16BE after its mark), or
    // bytes (a file identifier), not glyph codes: none is noted unread.
    objects.push(&bytes[outside.min(extent)..extent]);
    for object in objects {
        // Decrypted, and as they are (see the streams).
        if let Some(crypt) = crypt {
            crypt.strings(object, &mut text);
        }
        strings(object, &Codes::new(), &mut text);
    }
    // An encrypted PDF that does not open without a password is not read: noted, as an
    // encrypted zip file is.
    if matches!(security, Security::Locked) {
        inflation.unread.locked = true;
    }
    Opened { text, extent }
}

/// A stream's `data` decoded through the `listed` filters of its dictionary, when it may be
/// text: its start tells whether it is (a page's operators) or not (an image, a font), and
/// only text is decoded whole. `None` for a stream that is not text, or not read: an
/// encrypted one, or one with a filter unknown here, noted so. A stream whose dictionary was
/// not found is told by its bytes: a zlib stream is inflated.
fn content(data: &[u8], listed: Option<Vec<Filter>>, inflation: &mut Inflation) -> Option<Vec<u8>> {
    let filters = match listed {
        Some(filters) if !filters.is_empty() => filters,
        // `FlateDecode`'s step finds the zlib (or gzip) header itself.
        _ => match deflate_start(data) {
            Some(_) => return content(data, Some(vec![Filter::Flate]), inflation),
            None if operators(&data[..data.len().min(DATA_PROBE)]) => {
                let data = &data[..data.len().min(inflation.left)];
                inflation.charge(data.len());
                return Some(data.to_vec());
            }
            None => return None,
        },
    };
    let head = match decode(data, &filters, DATA_PROBE.min(inflation.left)) {
        Ok(head) => head.data,
        Err(Undecoded::Image) => return None,
        Err(Undecoded::Crypt) => {
            inflation.unread.locked = true;
            return None;
        }
        Err(Undecoded::Unknown) => {
            inflation
                .unread
                .codec
                .get_or_insert("an unknown PDF filter");
            return None;
        }
    };
    if !operators(&head) {
        inflation.charge(head.len());
        return None;
    }
    let whole = decode(data, &filters, inflation.left).ok()?;
    inflation.unread.cut |= whole.more;
    inflation.charge(whole.written);
    Some(whole.data)
}

/// Whether a stream's start reads as a page's operators do: text, its strings perhaps in a
/// single-byte encoding (Latin-1 letters), no NUL byte (an image's or a font's data has many).
fn operators(head: &[u8]) -> bool {
    let ascii = head.iter().filter(|b| b.is_ascii()).count();
    !head.is_empty() && !head.contains(&0) && ascii * 10 >= head.len() * 9 || is_text(head)
}

/// Adds the strings a content stream draws to `out`: a line for each text operator's (a
/// kerning array's pieces joined, with a space where it moves as far as a space does), literal `(...)` strings with their escapes undone, and hex
/// `<...>` strings that hold printable text. Bytes are read as Latin-1 (the standard
/// encodings' letters are there), so the text is never longer than the stream. Tells whether
/// a hex string drew codes that are not text and that no font's map gives characters for.
fn strings(content: &[u8], codes: &Codes, out: &mut String) -> bool {
    let mut unmapped = false;
    let mut in_array = false;
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'(' => {
                i = literal(content, i + 1, out);
                if !in_array {
                    out.push('\n');
                }
            }
            b'<' if content.get(i + 1) != Some(&b'<') => {
                let end = memchr::memchr(b'>', &content[i..]).map_or(content.len(), |n| i + n);
                unmapped |= push_hex(&content[i + 1..end], codes, out);
                if !in_array {
                    out.push('\n');
                }
                i = end + 1;
            }
            b'<' => i += 2,
            b'[' => {
                in_array = true;
                i += 1;
            }
            // In a kerning array, a move right of a fifth of the font's size or more is the
            // space between two words (as TeX and others set them).
            b'-' if in_array => {
                let digits = content[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if digits >= 4 || digits == 3 && content[i + 1] >= b'2' {
                    out.push(' ');
                }
                i += 1 + digits;
            }
            b']' => {
                if in_array {
                    out.push('\n');
                }
                in_array = false;
                i += 1;
            }
            // A comment, to the end of its line.
            b'%' => {
                i = memchr::memchr2(b'\n', b'\r', &content[i..]).map_or(content.len(), |n| i + n)
            }
            _ => i += 1,
        }
    }
    unmapped
}

/// Adds a string's characters: UTF-16BE after its byte order mark, as a text string may be
/// (a form field's value, an `/ActualText`), else one a byte, as Latin-1.
fn text_string(bytes: &[u8], out: &mut String) {
    match bytes.strip_prefix(b"\xfe\xff") {
        Some(wide) => {
            let units = wide
                .chunks_exact(2)
                .map(|u| u16::from_be_bytes([u[0], u[1]]));
            out.extend(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
        }
        None => out.extend(bytes.iter().map(|&b| char::from(b))),
    }
}

/// Adds the literal string starting at `content[i]` (after its `(`) to `out` as a text
/// string (backspace and form feed escapes in one a byte draw nothing), and gives where it
/// ends.
fn literal(content: &[u8], i: usize, out: &mut String) -> usize {
    let mut bytes = Vec::new();
    let end = literal_bytes(content, i, Some(&mut bytes));
    if !bytes.starts_with(b"\xfe\xff") {
        bytes.retain(|&b| b != 0x08 && b != 0x0c);
    }
    text_string(&bytes, out);
    end
}

/// Reads the literal string starting at `bytes[i]` (after its `(`) into `out` if given, its
/// escapes undone, its balanced parentheses kept and an end of line read as `\n`, and gives
/// where it ends.
fn literal_bytes(bytes: &[u8], mut i: usize, mut out: Option<&mut Vec<u8>>) -> usize {
    let mut open = 1usize;
    let mut push = |b: u8| {
        if let Some(out) = out.as_mut() {
            out.push(b);
        }
    };
    while let Some(&b) = bytes.get(i) {
        i += 1;
        match b {
            b'(' => {
                open += 1;
                push(b);
            }
            b')' => {
                open -= 1;
                if open == 0 {
                    break;
                }
                push(b);
            }
            b'\r' => {
                i += usize::from(bytes.get(i) == Some(&b'\n'));
                push(b'\n');
            }
            b'\\' => {
                let Some(&next) = bytes.get(i) else { break };
                i += 1;
                match next {
                    b'n' => push(b'\n'),
                    b'r' => push(b'\r'),
                    b't' => push(b'\t'),
                    b'b' => push(0x08),
                    b'f' => push(0x0c),
                    b'0'..=b'7' => {
                        let mut code = u32::from(next - b'0');
                        for _ in 0..2 {
                            match bytes.get(i) {
                                Some(&d @ b'0'..=b'7') => {
                                    code = code * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        push((code & 0xff) as u8);
                    }
                    b'\r' => i += usize::from(bytes.get(i) == Some(&b'\n')),
                    b'\n' => {}
                    other => push(other),
                }
            }
            other => push(other),
        }
    }
    i
}

/// Adds a hex string to `out` when it holds text: printable bytes (a simple font's codes),
/// UTF-16BE after its byte order mark (a marked span's `/ActualText`), or codes every one of
/// which a font's `ToUnicode` map gives a character for: two bytes each (a subset font's glyph
/// numbers), else one. Tells whether it held codes that none of these reads.
fn push_hex(digits: &[u8], codes: &Codes, out: &mut String) -> bool {
    let Some(bytes) = unhex(digits) else {
        return false;
    };
    if bytes.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        out.extend(bytes.iter().map(|&b| char::from(b)));
        return false;
    }
    if bytes.starts_with(b"\xfe\xff") {
        text_string(&bytes, out);
        return false;
    }
    let pairs: Option<String> = (bytes.len() % 2 == 0)
        .then(|| {
            bytes
                .chunks_exact(2)
                .map(|pair| codes.get(u16::from_be_bytes([pair[0], pair[1]])))
                .collect()
        })
        .flatten();
    match pairs.or_else(|| bytes.iter().map(|&b| codes.get(u16::from(b))).collect()) {
        Some(text) => {
            out.push_str(&text);
            false
        }
        None => true,
    }
}

/// A hex string's bytes (white space between digits allowed, an odd last digit taken as
/// followed by 0); `None` when it holds something else.
fn unhex(digits: &[u8]) -> Option<Vec<u8>> {
    let nibbles: Vec<u8> = digits
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|&b| char::from(b).to_digit(16).map(|v| v as u8))
        .collect::<Option<_>>()?;
    Some(
        nibbles
            .chunks(2)
            .map(|pair| pair[0] << 4 | pair.get(1).copied().unwrap_or(0))
            .collect(),
    )
}

/// What the PDF's fonts' `ToUnicode` maps give for two-byte codes, all fonts' maps together
/// (a code two fonts map differently keeps the first). Learning stops after [`MAX_LEARNT`]
/// mappings read, however many maps repeat them: a file of ranges cannot make it run on.
struct Codes {
    map: std::collections::HashMap<u16, char>,
    learnt: usize,
}

/// How many mappings [`Codes`] reads in all: every two-byte code, four times over.
const MAX_LEARNT: usize = 4 << 16;

impl Codes {
    fn new() -> Self {
        Self {
            map: std::collections::HashMap::new(),
            learnt: 0,
        }
    }

    fn get(&self, code: u16) -> Option<char> {
        self.map.get(&code).copied()
    }

    /// Learns that `code` draws `to`; `false` once no more is learnt.
    fn add(&mut self, code: u32, to: u32) -> bool {
        if self.learnt == MAX_LEARNT {
            return false;
        }
        self.learnt += 1;
        if let (Ok(code), Some(to)) = (u16::try_from(code), char::from_u32(to)) {
            self.map.entry(code).or_insert(to);
        }
        true
    }

    /// Learns a `ToUnicode` map's `bfchar` pairs (`<0024> <0041>`) and `bfrange` ranges
    /// (`<0024> <0026> <0041>`, or a list of characters in brackets), each character the first
    /// of its UTF-16 units.
    fn learn(&mut self, cmap: &[u8]) {
        let hexes = |text: &[u8]| -> Vec<u32> {
            let mut out = Vec::new();
            let mut rest = text;
            while let Some(open) = memchr::memchr(b'<', rest) {
                let Some(close) = memchr::memchr(b'>', &rest[open..]) else {
                    break;
                };
                let value = unhex(&rest[open + 1..open + close]).map_or(u32::MAX, |b| {
                    // A character: its first UTF-16 unit; a code: its value.
                    b.iter().take(2).fold(0, |n, &d| n << 8 | u32::from(d))
                });
                out.push(value);
                rest = &rest[open + close + 1..];
            }
            out
        };
        for section in sections(cmap, b"beginbfchar", b"endbfchar") {
            for pair in hexes(section).chunks_exact(2) {
                if !self.add(pair[0], pair[1]) {
                    return;
                }
            }
        }
        for section in sections(cmap, b"beginbfrange", b"endbfrange") {
            for line in section.split(|&b| b == b'\n' || b == b'\r') {
                let values = hexes(line);
                let [lo, hi, first, ..] = values[..] else {
                    continue;
                };
                let learnt = if line.contains(&b'[') {
                    // One character each code, listed.
                    (lo..=hi)
                        .zip(&values[2..])
                        .all(|(code, to)| self.add(code, *to))
                } else {
                    (lo..=hi.min(lo.saturating_add(0xffff)))
                        .all(|code| self.add(code, first.saturating_add(code - lo)))
                };
                if !learnt {
                    return;
                }
            }
        }
    }
}

/// The stretches of `text` between each `begin` and the `end` after it.
fn sections<'a>(text: &'a [u8], begin: &[u8], end: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = memchr::memmem::find(rest, begin) {
        rest = &rest[at + begin.len()..];
        let stop = memchr::memmem::find(rest, end).unwrap_or(rest.len());
        out.push(&rest[..stop]);
        rest = &rest[stop..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::read;
    use super::*;

    /// A PDF file of `streams` as a writer lays one out: a header with a binary comment, each
    /// stream an object (`FlateDecode` when `deflated`), a trailer and `%%EOF`.
    fn pdf_of(streams: &[(&[u8], bool)]) -> Vec<u8> {
        let streams: Vec<(Vec<u8>, &str)> = streams
            .iter()
            .map(|(data, deflated)| match deflated {
                true => (
                    miniz_oxide::deflate::compress_to_vec_zlib(data, 6),
                    " /Filter /FlateDecode",
                ),
                false => (data.to_vec(), ""),
            })
            .collect();
        pdf_filtered(&streams)
    }

    /// A PDF file of `streams`, each already encoded, with the dictionary entries given.
    fn pdf_filtered(streams: &[(Vec<u8>, &str)]) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
        for (i, (data, filter)) in streams.iter().enumerate() {
            out.extend_from_slice(
                format!(
                    "{} 0 obj\n<< /Length {}{filter} >>\nstream\r\n",
                    i + 1,
                    data.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(data);
            out.extend_from_slice(b"\nendstream\nendobj\n");
        }
        out.extend_from_slice(b"trailer\n<< /Root 1 0 R >>\n%%EOF\n");
        out
    }

    #[test]
    fn the_text_a_pdf_shows_is_read() {
        // A page whose key a kerning array splits, words a kerning array spaces (as TeX sets
        // them), a string with escapes, a hex string, and a marked span's `ActualText` (in
        // UTF-16BE, in a dictionary).
        let page =
            br"BT /F1 12 Tf 72 712 Td [(OPENAI_API_KEY=sk-pr) -20 (oj-abcdefghijklmnop1234)] TJ
[(Sent) -333 (by) -250.5 (Ops) -199 (Team) 120 (.)] TJ 0 -14 Td (Second line \(draft\), \101\102C) Tj <48656c6c6f> Tj /Span <</ActualText <FEFF0041005000490020006B00650079>>> BDC EMC % a comment (not drawn)
ET";
        // An image: binary data with NUL bytes, deflated; the same page left uncompressed.
        let image: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
        let file = pdf_of(&[(page, true), (&image, true), (page, false)]);
        let want = "OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234\nSent by OpsTeam.\nSecond line (draft), ABC\nHello\nAPI key\n";
        let b64 = crate::base64::encode(&file);
        assert_eq!(read(&b64), format!("{want}{want}\n"));
        let mut inflation = Inflation::for_text(b64.len());
        super::super::super::encoded_texts(&b64, &mut inflation);
        assert_eq!(
            inflation.unread(),
            None,
            "the image is passed over, not cut"
        );
        // A subset font's glyph numbers, which its `ToUnicode` map turns into characters (a
        // range of capitals, one of small letters listed, one of digits, a space, a hyphen).
        let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap
2 beginbfchar
<0003> <0020>
<0010> <002D>
endbfchar
3 beginbfrange
<0024> <003D> <0041>
<0044> <0047> [<0061> <0062> <0063> <0064>]
<0013> <001C> <0030>
endbfrange
endcmap CMapName currentdict /CMap defineresource pop end end";
        let glyphs = |text: &str| -> String {
            text.chars()
                .map(|c| match c {
                    ' ' => 0x03,
                    '-' => 0x10,
                    'A'..='Z' => 0x24 + (c as u32 - 'A' as u32),
                    'a'..='d' => 0x44 + (c as u32 - 'a' as u32),
                    _ => 0x13 + (c as u32 - '0' as u32),
                })
                .map(|code| format!("{code:04X}"))
                .collect()
        };
        let page = format!(
            "BT /F2 11 Tf [<{}> -20 <{}>] TJ <{}> Tj ET",
            glyphs("KEY ab-"),
            glyphs("cd-0123"),
            glyphs("ABBA 9")
        );
        let subset = pdf_of(&[(page.as_bytes(), true), (cmap, true)]);
        assert_eq!(
            read(&crate::base64::encode(&subset)),
            "KEY ab-cd-0123\nABBA 9\n\n"
        );
        // Glyph numbers no font's map gives characters for: noted, not passed as read.
        let unmapped = pdf_of(&[(b"BT /F3 9 Tf <0012003A> Tj ET", true)]);
        let mut inflation = Inflation::for_text(unmapped.len());
        assert!(
            inflation
                .file_text(&unmapped)
                .unwrap_or_default()
                .trim()
                .is_empty()
        );
        assert!(
            inflation
                .unread()
                .is_some_and(|why| why.contains("no map to characters"))
        );
        // Encrypted: noted.
        let mut locked = file.clone();
        locked.splice(
            locked.len() - 6..locked.len() - 6,
            *b"<< /Encrypt 9 0 R >>\n",
        );
        let locked = crate::base64::encode(&locked);
        let mut inflation = Inflation::for_text(locked.len());
        super::super::super::encoded_texts(&locked, &mut inflation);
        assert!(
            inflation
                .unread()
                .is_some_and(|why| why.contains("encrypted"))
        );
        // Cut short: what it holds whole.
        let cut = &file[..file.len() / 3];
        assert!(read(&crate::base64::encode(cut)).starts_with("OPENAI_API_KEY=sk-proj-"));
        let mut text = String::new();
        strings(b"(unclosed \\", &Codes::new(), &mut text);
        assert_eq!(text, "unclosed \n");
    }

    #[test]
    fn streams_in_each_filter_of_text_are_read() {
        use super::filters::tests::{ascii85_encode, lzw_encode};
        let page = b"BT /F1 12 Tf 72 712 Td (OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234) Tj ET";
        let zlib = miniz_oxide::deflate::compress_to_vec_zlib(page, 6);
        let hex: Vec<u8> = page
            .iter()
            .flat_map(|b| format!("{b:02X} ").into_bytes())
            .collect();
        let mut runs: Vec<u8> = page
            .chunks(50)
            .flat_map(|chunk| [vec![chunk.len() as u8 - 1], chunk.to_vec()].concat())
            .collect();
        runs.push(128);
        let jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00(not a string) Tj".to_vec();
        let file = pdf_filtered(&[
            (lzw_encode(page), " /Filter /LZWDecode"),
            (
                ascii85_encode(&zlib),
                " /Filter [/ASCII85Decode /FlateDecode]",
            ),
            ([hex, b">".to_vec()].concat(), " /Filter /AHx"),
            (runs, " /Filter /RunLengthDecode"),
            (jpeg, " /Filter /DCTDecode /Width 8 /Height 8"),
        ]);
        let text = read(&crate::base64::encode(&file));
        assert_eq!(
            text.matches("OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234\n")
                .count(),
            4,
            "{text:?}"
        );
        assert!(
            !text.contains("not a string"),
            "an image is passed over: {text:?}"
        );
        // A filter not known here, and an encrypted stream (a crypt filter named): noted
        // unread. The `Identity` crypt filter, named or by default, leaves a stream as it is.
        for identity in [
            " /Filter [/Crypt /FlateDecode]",
            " /Filter [/Crypt /FlateDecode] /DecodeParms [<< /Name /Identity >> null]",
        ] {
            let file = pdf_filtered(&[(zlib.clone(), identity)]);
            let mut inflation = Inflation::for_text(file.len());
            let text = inflation.file_text(&file).unwrap_or_default();
            assert!(text.contains("OPENAI"), "{identity}: {text:?}");
            assert_eq!(inflation.unread(), None);
        }
        for (filter, why) in [
            (" /Filter /BrotliDecode", "unknown PDF filter"),
            (
                " /Filter [/Crypt /FlateDecode] /DecodeParms [<< /Name /StdCF >> null]",
                "encrypted",
            ),
            (
                " /Filter [/Crypt /FlateDecode] /DecodeParms [<< /Name /IdentityX >> null]",
                "encrypted",
            ),
        ] {
            let file = pdf_filtered(&[(zlib.clone(), filter)]);
            let mut inflation = Inflation::for_text(file.len());
            let text = inflation.file_text(&file).unwrap_or_default();
            assert!(!text.contains("OPENAI"), "{text:?}");
            assert!(
                inflation.unread().is_some_and(|w| w.contains(why)),
                "{filter}"
            );
        }
    }

    #[test]
    fn the_strings_of_objects_outside_streams_are_read() {
        // A filled form: a field's value in PDFDocEncoding, another in UTF-16BE (as octal
        // escapes after the byte order mark, and as a hex string); the document's title.
        let ssn = "SSN 123-45-6789";
        let wide: String = ssn
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .map(|b| format!("\\{b:03o}"))
            .collect();
        let hex: String = "Key sk-proj-abcdefghijklmnop1234"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .map(|b| format!("{b:02X}"))
            .collect();
        let mut file = pdf_of(&[(b"BT (Loan application) Tj ET", true)]);
        let fields = format!(
            "5 0 obj\n<< /FT /Tx /T (applicant) /V (Ana Lima) >>\nendobj\n\
             6 0 obj\n<< /FT /Tx /T (ssn) /V (\\376\\377{wide}) >>\nendobj\n\
             7 0 obj\n<< /Type /Annot /Contents <FEFF{hex}> >>\nendobj\n\
             8 0 obj\n<< /Title (Q3 \\(draft\\)) >>\nendobj\n"
        );
        let at = file.len() - b"trailer\n<< /Root 1 0 R >>\n%%EOF\n".len();
        file.splice(at..at, fields.into_bytes());
        let text = read(&crate::base64::encode(&file));
        for want in [
            "Loan application",
            "Ana Lima",
            ssn,
            "Key sk-proj-abcdefghijklmnop1234",
            "Q3 (draft)",
        ] {
            assert!(text.lines().any(|l| l == want), "{want}: {text:?}");
        }
    }

    #[test]
    fn a_map_of_ranges_by_the_thousand_is_read_no_further_than_the_bound() {
        let cmap = format!(
            "begincmap 10000 beginbfrange\n{}endbfrange endcmap",
            "<0000> <FFFF> <0041>\n".repeat(10_000)
        );
        let mut codes = Codes::new();
        codes.learn(cmap.as_bytes());
        assert_eq!(
            codes.learnt, MAX_LEARNT,
            "read four times every code, then stopped"
        );
        assert_eq!(codes.get(0x0001), Some('B'));
    }
}

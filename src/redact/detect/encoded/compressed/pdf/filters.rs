//! A PDF stream's filters (ISO 32000-1, 7.4): the names its dictionary lists under `/Filter`,
//! and decoding a stream through them in order, each step's output at most a limit long:
//! `FlateDecode`, `LZWDecode` (with its early change), `ASCII85Decode`, `ASCIIHexDecode` and
//! `RunLengthDecode` are decoded; the filters of images (`DCTDecode`, `JPXDecode`,
//! `JBIG2Decode`, `CCITTFaxDecode`) hold no text and are passed over; the `Identity` crypt
//! filter leaves a stream as it is; `Crypt` naming another crypt filter, and any other filter,
//! are told apart, to be noted unread.
//!
//! Uses its grandparent's inflate, and `memchr`.

use super::super::{deflate_start, inflate_at_most};
use super::unhex;

/// A filter a stream is decoded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Filter {
    Flate,
    Lzw,
    Ascii85,
    AsciiHex,
    RunLength,
    /// An image's compression: the stream holds no text.
    Image,
    /// The stream is encrypted.
    Crypt,
    /// A filter this reading does not know.
    Unknown,
}

impl Filter {
    /// The filter a name stands for, in full or abbreviated (as inline images abbreviate).
    fn named(name: &[u8]) -> Self {
        match name {
            b"FlateDecode" | b"Fl" => Self::Flate,
            b"LZWDecode" | b"LZW" => Self::Lzw,
            b"ASCII85Decode" | b"A85" => Self::Ascii85,
            b"ASCIIHexDecode" | b"AHx" => Self::AsciiHex,
            b"RunLengthDecode" | b"RL" => Self::RunLength,
            b"DCTDecode" | b"DCT" | b"JPXDecode" | b"JBIG2Decode" | b"CCITTFaxDecode" | b"CCF" => {
                Self::Image
            }
            b"Crypt" => Self::Crypt,
            _ => Self::Unknown,
        }
    }
}

/// The filters the dictionary that ends `before` (a stream's, right before its `stream`
/// keyword) lists, in order: a name, or an array of names, after `/Filter`. Empty when it
/// lists none; `None` when no dictionary is found (the stream is then told by its bytes).
pub(super) fn filters(before: &[u8]) -> Option<Vec<Filter>> {
    // The stream's object: from its `obj` keyword, within the last few kilobytes.
    let window = &before[before.len().saturating_sub(4096)..];
    let dict = memchr::memmem::rfind(window, b"obj").map_or(window, |at| &window[at..]);
    memchr::memmem::find(dict, b"<<")?;
    let Some(at) = memchr::memmem::find(dict, b"/Filter") else {
        return Some(Vec::new());
    };
    let rest = &dict[at + b"/Filter".len()..];
    let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    let names = match rest.first() {
        Some(b'[') => {
            let end = memchr::memchr(b']', rest).unwrap_or(rest.len());
            &rest[1..end]
        }
        Some(b'/') => {
            let end = rest[1..]
                .iter()
                .position(|&b| b.is_ascii_whitespace() || b"/<>[]()%".contains(&b))
                .map_or(rest.len(), |n| n + 1);
            &rest[..end]
        }
        _ => return Some(vec![Filter::Unknown]),
    };
    let identity = identity_crypt(dict);
    Some(
        names
            .split(|&b| b == b'/' || b.is_ascii_whitespace())
            .filter(|name| !name.is_empty())
            .map(Filter::named)
            .filter(|&filter| !(filter == Filter::Crypt && identity))
            .collect(),
    )
}

/// Whether a `Crypt` filter in the dictionary `dict` is the identity, which leaves the stream
/// as it is: its parameters name no crypt filter, or name `Identity` (ISO 32000-2, 7.4.10).
/// Any other name is taken as encryption.
fn identity_crypt(dict: &[u8]) -> bool {
    let Some(at) = memchr::memmem::find(dict, b"/DecodeParms") else {
        return true;
    };
    let params = &dict[at..];
    let Some(at) = memchr::memmem::find(params, b"/Name") else {
        return true;
    };
    let rest = &params[at + b"/Name".len()..];
    let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    rest.strip_prefix(b"/Identity")
        .is_some_and(|after| after.first().is_none_or(|b| !b.is_ascii_alphanumeric()))
}

/// Why a stream's filters are not decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Undecoded {
    /// An image's: no text to read.
    Image,
    Crypt,
    Unknown,
}

/// What decoding a stream gave: its data, whether it held more than `limit`, and how many
/// bytes all the steps wrote (intermediate ones included), to be charged to the budget.
pub(super) struct Decoded {
    pub(super) data: Vec<u8>,
    pub(super) more: bool,
    pub(super) written: usize,
}

/// `data` decoded through `filters` in order, each step's output at most `limit` bytes.
pub(super) fn decode(data: &[u8], filters: &[Filter], limit: usize) -> Result<Decoded, Undecoded> {
    if let Some(stop) = filters.iter().find_map(|f| match f {
        Filter::Image => Some(Undecoded::Image),
        Filter::Crypt => Some(Undecoded::Crypt),
        Filter::Unknown => Some(Undecoded::Unknown),
        _ => None,
    }) {
        return Err(stop);
    }
    let mut out = Decoded {
        data: data[..data.len().min(limit)].to_vec(),
        more: data.len() > limit,
        written: 0,
    };
    for filter in filters {
        let input = std::mem::take(&mut out.data);
        let (data, more) = match filter {
            Filter::Flate => match deflate_start(&input) {
                Some(skip) => inflate_at_most(&input[skip..], limit),
                // Raw deflate data, without the zlib header some writers leave out.
                None => inflate_at_most(&input, limit),
            },
            Filter::Lzw => lzw(&input, limit),
            Filter::Ascii85 => ascii85(&input),
            Filter::AsciiHex => {
                let end = memchr::memchr(b'>', &input).unwrap_or(input.len());
                (unhex(&input[..end]).unwrap_or_default(), false)
            }
            Filter::RunLength => run_length(&input, limit),
            Filter::Image | Filter::Crypt | Filter::Unknown => (Vec::new(), false),
        };
        out.written += data.len();
        out.more |= more;
        out.data = data;
    }
    Ok(out)
}

/// ASCII base-85 (`<~` and white space skipped, `z` four zeros, `~>` the end, a last group
/// of two to four characters giving one byte fewer); characters outside it end the data.
fn ascii85(input: &[u8]) -> (Vec<u8>, bool) {
    let input = input.strip_prefix(b"<~").unwrap_or(input);
    let mut out = Vec::with_capacity(input.len() / 5 * 4 + 4);
    let mut group = [0u8; 5];
    let mut n = 0;
    for &b in input {
        match b {
            b'!'..=b'u' => {
                group[n] = b - b'!';
                n += 1;
                if n == 5 {
                    let value = group.iter().fold(0u64, |v, &d| v * 85 + u64::from(d));
                    out.extend_from_slice(&(value as u32).to_be_bytes());
                    n = 0;
                }
            }
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b if b.is_ascii_whitespace() => {}
            _ => break,
        }
    }
    if n >= 2 {
        group[n..].fill(b'u' - b'!');
        let value = group.iter().fold(0u64, |v, &d| v * 85 + u64::from(d));
        out.extend_from_slice(&(value as u32).to_be_bytes()[..n - 1]);
    }
    (out, false)
}

/// Run-length data: a length byte below 128 copies the next that many plus one bytes, one
/// above repeats the next byte 257 less it times, 128 ends the data.
fn run_length(input: &[u8], limit: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(&len) = input.get(at) {
        if out.len() >= limit {
            out.truncate(limit);
            return (out, true);
        }
        match len {
            0..=127 => {
                let end = (at + 2 + usize::from(len)).min(input.len());
                out.extend_from_slice(&input[at + 1..end]);
                at = end;
            }
            128 => break,
            _ => {
                let Some(&b) = input.get(at + 1) else { break };
                out.resize(out.len() + 257 - usize::from(len), b);
                at += 2;
            }
        }
    }
    let more = out.len() > limit;
    out.truncate(limit);
    (out, more)
}

/// LZW data as PDF writes it: codes of 9 to 12 bits, most significant bit first, 256 to
/// clear the table and 257 to end, the code width growing one code early (`EarlyChange` 1,
/// the default).
fn lzw(input: &[u8], limit: usize) -> (Vec<u8>, bool) {
    const CLEAR: usize = 256;
    const END: usize = 257;
    // Each code past the first 258: the code it extends and the byte it adds.
    let mut table: Vec<(u16, u8)> = Vec::new();
    // A code's bytes, the table walked back from its last.
    let first_byte = |table: &[(u16, u8)], mut code: usize| loop {
        match code.checked_sub(258) {
            Some(i) => code = usize::from(table[i].0),
            None => return code as u8,
        }
    };
    let mut out = Vec::new();
    let mut scratch = Vec::new();
    let (mut acc, mut bits, mut at) = (0u32, 0u32, 0usize);
    let mut prev: Option<usize> = None;
    loop {
        let width = match table.len() + 258 + 1 {
            0..512 => 9,
            512..1024 => 10,
            1024..2048 => 11,
            _ => 12,
        };
        while bits < width {
            let Some(&b) = input.get(at) else {
                return (out, false);
            };
            acc = acc << 8 | u32::from(b);
            bits += 8;
            at += 1;
        }
        let code = (acc >> (bits - width)) as usize & ((1 << width) - 1);
        bits -= width;
        match code {
            CLEAR => {
                table.clear();
                prev = None;
                continue;
            }
            END => break,
            _ => {}
        }
        let next = table.len() + 258;
        let added = match prev {
            Some(p) if code < next => Some((p, first_byte(&table, code))),
            // The code being defined by this very step: the previous one and its first byte.
            Some(p) if code == next => Some((p, first_byte(&table, p))),
            None if code < 256 => None,
            _ => break,
        };
        if let Some((p, b)) = added
            && next < 4096
        {
            table.push((p as u16, b));
        }
        // The code's bytes, gathered back to front.
        scratch.clear();
        let mut c = code;
        while let Some(i) = c.checked_sub(258) {
            let Some(&(p, b)) = table.get(i) else { break };
            scratch.push(b);
            c = usize::from(p);
        }
        scratch.push(c as u8);
        out.extend(scratch.iter().rev());
        if out.len() >= limit {
            let more = out.len() > limit || at < input.len();
            out.truncate(limit);
            return (out, more);
        }
        prev = Some(code);
    }
    (out, false)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// `data` encoded as PDF's LZW does (the reverse of [`lzw`]), a clear code first.
    pub(in crate::redact::detect::encoded::compressed) fn lzw_encode(data: &[u8]) -> Vec<u8> {
        let mut codes: std::collections::HashMap<Vec<u8>, usize> =
            (0..=255u8).map(|b| (vec![b], usize::from(b))).collect();
        let mut next = 258;
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u64, 0u32);
        let mut emit = |code: usize, width: u32, out: &mut Vec<u8>| {
            acc = acc << width | code as u64;
            bits += width;
            while bits >= 8 {
                out.push((acc >> (bits - 8)) as u8);
                bits -= 8;
            }
        };
        // The decoder's table is one code behind: it learns each code's entry from the next.
        let width = |next: usize| match next {
            0..512 => 9,
            512..1024 => 10,
            1024..2048 => 11,
            _ => 12,
        };
        emit(256, 9, &mut out);
        let mut word: Vec<u8> = Vec::new();
        for &b in data {
            let mut longer = word.clone();
            longer.push(b);
            if codes.contains_key(&longer) {
                word = longer;
                continue;
            }
            emit(codes[&word], width(next), &mut out);
            if next < 4096 {
                codes.insert(longer, next);
                next += 1;
            }
            word = vec![b];
        }
        if !word.is_empty() {
            emit(codes[&word], width(next), &mut out);
            next = (next + 1).min(4096);
        }
        emit(257, width(next), &mut out);
        emit(0, 7, &mut out);
        out
    }

    /// `data` in ASCII base-85 (the reverse of [`ascii85`]), ended by `~>`.
    pub(in crate::redact::detect::encoded::compressed) fn ascii85_encode(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in data.chunks(4) {
            let mut group = [0u8; 4];
            group[..chunk.len()].copy_from_slice(chunk);
            let mut value = u32::from_be_bytes(group);
            let mut digits = [0u8; 5];
            for d in digits.iter_mut().rev() {
                *d = (value % 85) as u8 + b'!';
                value /= 85;
            }
            out.extend_from_slice(&digits[..chunk.len() + 1]);
        }
        out.extend_from_slice(b"~>");
        out
    }

    #[test]
    fn each_filter_decodes_what_it_encodes() {
        let text = b"BT /F1 12 Tf (OPENAI_API_KEY=sk-proj-0123456789) Tj ET ".repeat(40);
        let lzw_data = lzw_encode(&text);
        assert!(lzw_data.len() < text.len() / 2, "{}", lzw_data.len());
        assert_eq!(lzw(&lzw_data, 1 << 20), (text.clone(), false));
        // Cut at the limit, and says so.
        let (cut, more) = lzw(&lzw_data, 100);
        assert!(more && cut[..] == text[..100]);
        // ASCII base-85, as Adobe's tools write it (`z` for zeros, a short last group).
        assert_eq!(ascii85(b"87cURD]i,\"Ebo80~>").0, b"Hello World!");
        assert_eq!(ascii85(b"<~z!!~>").0, [0, 0, 0, 0, 0]);
        let runs = [2, b'a', b'b', b'c', 253, b'-', 0, b'!', 128, 9];
        assert_eq!(run_length(&runs, 100), (b"abc----!".to_vec(), false));
        let hex = decode(b"48 65 6c6C6f>", &[Filter::AsciiHex], 100).map(|d| d.data);
        assert_eq!(hex, Ok(b"Hello".to_vec()));
        // A chain: base-85 of a zlib stream.
        let zlib = miniz_oxide::deflate::compress_to_vec_zlib(&text, 6);
        let chain = [Filter::Ascii85, Filter::Flate];
        let decoded = decode(&ascii85_encode(&zlib), &chain, 1 << 20).map(|d| d.data);
        assert_eq!(decoded, Ok(text));
        assert_eq!(
            decode(b"..", &[Filter::Flate, Filter::Image], 9).err(),
            Some(Undecoded::Image)
        );
    }

    #[test]
    fn a_dictionarys_filters_are_read() {
        let cases: [(&[u8], Option<Vec<Filter>>); 6] = [
            (
                b"4 0 obj\n<< /Length 99 /Filter /FlateDecode >>\n",
                Some(vec![Filter::Flate]),
            ),
            (
                b"5 0 obj <</Filter[/ASCII85Decode/LZWDecode]/Length 7>>",
                Some(vec![Filter::Ascii85, Filter::Lzw]),
            ),
            (
                b"6 0 obj << /Filter /DCTDecode /Width 640 >>",
                Some(vec![Filter::Image]),
            ),
            (b"7 0 obj << /Length 12 >>", Some(Vec::new())),
            (
                b"8 0 obj << /Filter /BrotliDecode >>",
                Some(vec![Filter::Unknown]),
            ),
            (b"stream data without a dictionary", None),
        ];
        for (dict, want) in cases {
            assert_eq!(filters(dict), want, "{}", String::from_utf8_lossy(dict));
        }
    }
}

//! Compressed files and archives inside encoded text: a gzip member or a zlib stream inflated,
//! a zip archive (`.zip`, and the `.docx`, `.xlsx` and `.odt` files that are zip archives of
//! XML) or a tar archive (`.tar`, and `.tar.gz` once inflated) opened and its text files
//! read, all within one [`Inflation`] budget per reading.
//!
//! Uses `miniz_oxide` (inflate) and `memchr`.

use super::{DATA_PROBE, text_of};

/// How much compressed content one reading may inflate, all its levels together: at least
/// [`INFLATE_FLOOR`] bytes, and [`INFLATE_RATIO`] times the text it starts from. What a
/// stream holds past the budget is not read, and the reading says so
/// ([`unread`](Self::unread)), as it does of a file compressed in a way it does not read.
#[derive(Debug)]
pub(crate) struct Inflation {
    left: usize,
    /// A stream held more than the budget left.
    cut: bool,
    /// The first compression met that is not read (xz, bzip2, ...).
    codec: Option<&'static str>,
}

/// The least an [`Inflation`] budget allows: a compressed file of some pages.
const INFLATE_FLOOR: usize = 64 * 1024;

/// How many bytes an [`Inflation`] budget allows for each byte of the text read: text
/// compresses to a third to a tenth of itself, and its base64 is a third longer again.
const INFLATE_RATIO: usize = 8;

impl Inflation {
    /// The budget for reading a text of `len` bytes.
    pub(crate) fn for_text(len: usize) -> Self {
        Self {
            left: INFLATE_FLOOR.saturating_add(len.saturating_mul(INFLATE_RATIO)),
            cut: false,
            codec: None,
        }
    }

    /// Charges `n` bytes read to the budget.
    fn charge(&mut self, n: usize) {
        self.left -= n.min(self.left);
    }

    /// Whether a compressed stream was read only in part: it held more than the budget left.
    #[cfg(test)]
    fn cut(&self) -> bool {
        self.cut
    }

    /// Why part of what was read is unread, when it is: a file compressed in a way the reading
    /// does not know, or a stream that held more than the budget.
    #[cfg_attr(
        not(feature = "server"),
        allow(dead_code, reason = "the guard reads it")
    )]
    pub(crate) fn unread(&self) -> Option<String> {
        match (self.codec, self.cut) {
            (Some(codec), _) => Some(format!(
                "a file in it is compressed with {codec}, which the guard does not read"
            )),
            (None, true) => {
                Some("a compressed file in it holds more than the guard inflates".to_owned())
            }
            (None, false) => None,
        }
    }

    /// Notes `bytes` as unread when they start as a file compressed in a way not read here
    /// ([`CODECS`]).
    pub(super) fn note_codec(&mut self, bytes: &[u8]) {
        if let Some((name, _)) = CODECS.iter().find(|(_, magic)| bytes.starts_with(magic)) {
            self.codec.get_or_insert(name);
        }
    }

    /// The text a gzip member or a zlib stream holds, inflated: a file's text, or a tar
    /// archive's files (a `.tar.gz`); `None` when `bytes` are neither or hold no text.
    pub(super) fn inflated_text(&mut self, bytes: &[u8]) -> Option<String> {
        let inflated = self.inflate(bytes)?;
        text_of(&inflated).or_else(|| tar_text(&inflated, self))
    }

    /// `bytes` inflated when they are a gzip member or a zlib stream, as far as the budget
    /// goes (a stream cut short or damaged: as far as it inflates); `None` when they are
    /// neither.
    fn inflate(&mut self, bytes: &[u8]) -> Option<Vec<u8>> {
        let deflated = &bytes[deflate_start(bytes)?..];
        let (out, more) = inflate_at_most(deflated, self.left);
        self.cut |= more;
        self.charge(out.len());
        Some(out)
    }
}

/// Compressions and archives that are not read, by the bytes they start with: found, they make
/// a reading [`unread`](Inflation::unread). Each signature is long or specific enough not to
/// start ordinary data by chance (zstd's four bytes are looked for only where data starts).
const CODECS: [(&str, &[u8]); 6] = [
    ("xz", b"\xfd7zXZ\x00"),
    ("bzip2", b"BZh91AY&SY"),
    ("zstd", b"\x28\xb5\x2f\xfd"),
    ("7z", b"7z\xbc\xaf\x27\x1c"),
    ("rar", b"Rar!\x1a\x07"),
    ("lzip", b"LZIP\x01"),
];

/// Raw deflate data inflated, at most `limit` bytes of it, and whether it held more. A stream
/// cut short or damaged gives what it inflates to up to there.
fn inflate_at_most(mut input: &[u8], limit: usize) -> (Vec<u8>, bool) {
    use miniz_oxide::inflate::TINFLStatus;
    use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};
    // The whole output in one buffer, grown as it fills: matches look back into it.
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let mut out = vec![0; input.len().saturating_mul(4).clamp(1, limit.max(1))];
    let mut state = Box::<DecompressorOxide>::default();
    let mut at = 0;
    loop {
        let (status, read, wrote) = decompress(&mut state, input, &mut out, at, flags);
        at += wrote;
        input = input.get(read..).unwrap_or_default();
        if status != TINFLStatus::HasMoreOutput {
            out.truncate(at);
            return (out, false);
        }
        if out.len() >= limit {
            out.truncate(at.min(limit));
            return (out, true);
        }
        out.resize(out.len().saturating_mul(2).min(limit), 0);
    }
}

/// Where the deflate data of `bytes` starts, when they are a gzip member or a zlib stream.
pub(super) fn deflate_start(bytes: &[u8]) -> Option<usize> {
    match bytes {
        // gzip (RFC 1952): a member's header, then raw deflate.
        [0x1f, 0x8b, 8, ..] => gzip_header(bytes),
        // zlib (RFC 1950): deflate with a window of at most 32 KiB, its check bits right, no
        // preset dictionary.
        [cmf, flg, ..]
            if cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
                && flg & 0x20 == 0 =>
        {
            Some(2)
        }
        _ => None,
    }
}

/// The little-endian `u16` at `at` of `bytes`, when they reach that far.
fn le16(bytes: &[u8], at: usize) -> Option<usize> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_le_bytes([b[0], b[1]])))
}

/// The little-endian `u32` at `at` of `bytes`, when they reach that far.
fn le32(bytes: &[u8], at: usize) -> Option<usize> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()
}

/// Where a gzip member's deflate data starts: past its fixed header and the optional fields
/// its flags announce (extra field, file name, comment, header CRC).
fn gzip_header(bytes: &[u8]) -> Option<usize> {
    let flags = *bytes.get(3)?;
    let mut at = 10;
    if flags & 4 != 0 {
        at += 2 + le16(bytes, at)?;
    }
    for field in [8, 16] {
        if flags & field != 0 {
            at += memchr::memchr(0, bytes.get(at..)?)? + 1;
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    (at <= bytes.len()).then_some(at)
}

/// The text files of a zip archive (each stored or deflated), a line each, found through its
/// central directory; `None` when `bytes` are not a whole archive or hold no text. What each
/// file holds is charged to the budget, and for one that is not text (an image), the start
/// that told so; so an archive whose directory names one file many times is read no further
/// than the budget. Encrypted files and archives inside it are not read.
pub(super) fn zip_text(bytes: &[u8], inflation: &mut Inflation) -> Option<String> {
    let u16_at = |at| le16(bytes, at);
    let u32_at = |at| le32(bytes, at);
    // The end of the central directory: in the last 22 bytes and the comment's 64 KiB.
    let tail = bytes.len().saturating_sub(22 + 0xffff);
    let end = tail + memchr::memmem::rfind(&bytes[tail..], b"PK\x05\x06")?;
    let mut at = u32_at(end + 16)?;
    let mut text = String::new();
    for _ in 0..u16_at(end + 10)? {
        if bytes.get(at..at.saturating_add(4)) != Some(b"PK\x01\x02") {
            break;
        }
        let (Some(flags), Some(method), Some(size), Some(local)) = (
            u16_at(at + 8),
            u16_at(at + 10),
            u32_at(at + 20),
            u32_at(at + 42),
        ) else {
            break;
        };
        let lengths = [28, 30, 32].map(|k| u16_at(at + k).unwrap_or(usize::MAX / 4));
        at = at.saturating_add(46 + lengths.iter().sum::<usize>());
        let encrypted = flags & 1 != 0;
        let Some(data) = file_data(bytes, local, size).filter(|_| !encrypted) else {
            continue;
        };
        // At most `limit` bytes of the file, and whether it holds more.
        let read = |limit: usize| match method {
            0 => Some((data[..data.len().min(limit)].to_vec(), data.len() > limit)),
            8 => Some(inflate_at_most(data, limit)),
            _ => None,
        };
        // Its start tells whether it is text; only then is the rest read.
        let Some((start, _)) = read(DATA_PROBE.min(inflation.left)) else {
            continue;
        };
        inflation.charge(start.len());
        if text_of(&start).is_none() {
            continue;
        }
        let Some((file, more)) = read(inflation.left) else {
            continue;
        };
        inflation.cut |= more;
        inflation.charge(file.len());
        if let Some(file) = text_of(&file) {
            text.push_str(&file);
            text.push('\n');
        }
    }
    (!text.is_empty()).then_some(text)
}

/// Whether `bytes` start as a tar archive does (POSIX ustar, and GNU tar's).
pub(super) fn is_tar(bytes: &[u8]) -> bool {
    bytes.get(257..262) == Some(b"ustar")
}

/// The text files of a tar archive, a line each, each charged to the budget (a body may hold
/// many archives' signatures, each read from there on); `None` when `bytes` are not one or
/// hold no text. An archive cut short is read as far as it goes.
pub(super) fn tar_text(bytes: &[u8], inflation: &mut Inflation) -> Option<String> {
    if !is_tar(bytes) {
        return None;
    }
    let mut text = String::new();
    let mut at = 0usize;
    while let Some(header) = bytes.get(at..at.saturating_add(512)) {
        // Two blocks of zeros end the archive; one is enough to stop.
        let Some(size) = tar_size(&header[124..136]).filter(|_| header.iter().any(|&b| b != 0))
        else {
            break;
        };
        let start = at + 512;
        let data = &bytes[start..start.saturating_add(size).min(bytes.len())];
        // Regular files only: not links, directories, or pax and GNU metadata.
        if matches!(header[156], b'0' | 0 | b'7') {
            let data = &data[..data.len().min(inflation.left)];
            inflation.cut |= data.len() < size.min(bytes.len() - start);
            inflation.charge(data.len());
            if let Some(file) = text_of(data) {
                text.push_str(&file);
                text.push('\n');
            }
        }
        at = start.saturating_add(size.div_ceil(512).saturating_mul(512));
    }
    (!text.is_empty()).then_some(text)
}

/// A tar header's size field: octal digits (spaces and NULs around them), or GNU tar's
/// base-256 for sizes past 8 GiB.
fn tar_size(field: &[u8]) -> Option<usize> {
    if field[0] & 0x80 != 0 {
        return field[1..].iter().try_fold(0usize, |n, &b| {
            n.checked_mul(256)?.checked_add(usize::from(b))
        });
    }
    let digits = field.trim_ascii().split(|&b| b == 0).next()?.trim_ascii();
    digits.iter().try_fold(0usize, |n, &b| match b {
        b'0'..=b'7' => n.checked_mul(8)?.checked_add(usize::from(b - b'0')),
        _ => None,
    })
}

/// The text in compressed files and archives carried as raw bytes inside `bytes` (a request
/// body that is one, `Content-Type: application/gzip`, or a `multipart/form-data` upload
/// holding one among its parts): each gzip member, zip archive and tar archive found by its
/// signature, read within `inflation`, a text each. At most [`MAX_EMBEDDED`] of each kind are
/// read: a body of random bytes may hold their signatures by chance, many times.
#[cfg(feature = "server")]
pub(crate) fn embedded_texts(bytes: &[u8], inflation: &mut Inflation) -> Vec<String> {
    // Each of these files starts with, or (bzip2's) goes on with, a control byte or a byte
    // that is not UTF-8: a body that is text, as nearly all are, holds none of them.
    if std::str::from_utf8(bytes).is_ok() && !has_control(bytes) {
        return Vec::new();
    }
    let mut found = Vec::new();
    for at in memchr::memmem::find_iter(bytes, b"\x1f\x8b\x08").take(MAX_EMBEDDED) {
        found.extend(inflation.inflated_text(&bytes[at..]));
    }
    for at in memchr::memmem::find_iter(bytes, b"PK\x03\x04").take(MAX_EMBEDDED) {
        found.extend(zip_text(&bytes[at..], inflation));
    }
    let tars = memchr::memmem::find_iter(bytes, b"ustar").filter(|&at| at >= 257);
    for at in tars.take(MAX_EMBEDDED) {
        found.extend(tar_text(&bytes[at - 257..], inflation));
    }
    // Files compressed otherwise: the body itself, or one of its parts (but zstd's short
    // signature, only as the body).
    inflation.note_codec(bytes);
    for (_, magic) in CODECS.iter().filter(|(name, _)| *name != "zstd") {
        if let Some(at) = memchr::memmem::find(bytes, magic) {
            inflation.note_codec(&bytes[at..]);
        }
    }
    found
}

/// Whether `bytes` hold a control byte other than a tab or a line break: looked for 64 bytes
/// at a time, without a branch a byte, as it is on every request the guard reads.
#[cfg(feature = "server")]
fn has_control(bytes: &[u8]) -> bool {
    bytes.chunks(64).any(|chunk| {
        chunk.iter().fold(false, |seen, &b| {
            seen | (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r')
        })
    })
}

/// How many archives or compressed files of each kind [`embedded_texts`] reads in one body.
#[cfg(feature = "server")]
const MAX_EMBEDDED: usize = 32;

/// A zip file's data, from its local header at `local`: `size` bytes (to the end when the
/// size is in a ZIP64 field, which deflate's own end marks).
fn file_data(bytes: &[u8], local: usize, size: usize) -> Option<&[u8]> {
    if bytes.get(local..local.checked_add(4)?)? != b"PK\x03\x04" {
        return None;
    }
    let (name, extra) = (le16(bytes, local + 26)?, le16(bytes, local + 28)?);
    let data = bytes.get(local + 30 + name + extra..)?;
    Some(if size == 0xffff_ffff {
        data
    } else {
        &data[..size.min(data.len())]
    })
}

#[cfg(test)]
mod tests {
    use super::super::encoded_texts;
    use super::*;

    /// Each text found, a line each.
    fn read(text: &str) -> String {
        encoded_texts(text, &mut Inflation::for_text(text.len()))
            .into_iter()
            .map(|(_, decoded)| decoded + "\n")
            .collect()
    }

    /// A gzip member of `data` as `gzip` writes one, with the file's name in its header (the
    /// trailer's CRC is not read, so left zero).
    fn gzip(name: &str, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3];
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend(miniz_oxide::deflate::compress_to_vec(data, 6));
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    }

    #[test]
    fn compressed_text_in_base64_is_read() {
        let file = "OPENAI_API_KEY=sk-proj-0123456789\nDEBUG=1\n";
        let gz = crate::base64::encode(&gzip(".env", file.as_bytes()));
        let zlib = crate::base64::encode(&miniz_oxide::deflate::compress_to_vec_zlib(
            file.as_bytes(),
            9,
        ));
        for body in [
            format!(
                r#"{{"source": {{"type": "base64", "media_type": "application/gzip", "data": "{gz}"}}}}"#
            ),
            format!("data:application/gzip;base64,{gz}"),
            format!(r#"{{"bytes": "{zlib}"}}"#),
        ] {
            assert_eq!(read(&body), format!("{file}\n"), "{body}");
        }
        // Its text in UTF-16LE; a stream cut short: what it holds whole.
        let wide: Vec<u8> = file.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let gz = crate::base64::encode(&gzip("env.txt", &wide));
        assert_eq!(read(&gz), format!("{file}\n"));
        let long: String = (0..400)
            .map(|i| {
                format!(
                    "Line {i}: revenue rose {}% while costs stayed flat.\n",
                    i % 7
                )
            })
            .collect();
        let gz = gzip("report.txt", long.as_bytes());
        let cut = crate::base64::encode(&gz[..gz.len() / 2]);
        let seen = read(&cut);
        assert!(
            seen.len() > long.len() / 4 && long.starts_with(&seen[..seen.len() - 1]),
            "{} bytes read",
            seen.len()
        );
        // Compressed, but not text (random bytes), and not compressed though it starts as
        // zlib does: nothing.
        let noise: Vec<u8> = (0..3000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let gz = crate::base64::encode(&gzip("noise.bin", &noise));
        assert_eq!(read(&gz), "");
        let mut fake = vec![0x78, 0x9c];
        fake.extend_from_slice(&noise);
        assert_eq!(read(&crate::base64::encode(&fake)), "");
    }

    #[test]
    fn inflating_stops_at_the_budget_and_says_so() {
        // 20 MB of one letter compress to about 20 KB: a bomb.
        let bomb = crate::base64::encode(&gzip("a.txt", &vec![b'a'; 20 << 20]));
        let body = format!(r#"{{"data": "{bomb}"}}"#);
        let mut inflation = Inflation::for_text(body.len());
        let budget = INFLATE_FLOOR + INFLATE_RATIO * body.len();
        let found = encoded_texts(&body, &mut inflation);
        assert!(inflation.cut());
        assert_eq!(found[0].1.len(), budget, "read up to the budget");
        // Room to spare: not cut.
        let report: String = (0..2000)
            .map(|i| {
                format!(
                    "Line {i}: revenue rose {}% while costs stayed flat.\n",
                    i % 7
                )
            })
            .collect();
        let small = crate::base64::encode(&gzip("a.txt", report.as_bytes()));
        let mut inflation = Inflation::for_text(small.len());
        assert!(
            encoded_texts(&small, &mut inflation)[0].1 == report,
            "read whole"
        );
        assert!(!inflation.cut());
        // Bombs inside a stream (its text a thousand copies of one, which compress to
        // nothing): every level shares one budget, however many streams a level holds.
        let inner = crate::base64::encode(&gzip("a.txt", &vec![b'a'; 1 << 20]));
        let outer =
            crate::base64::encode(&gzip("b.txt", format!("{inner} ").repeat(1000).as_bytes()));
        let mut inflation = Inflation::for_text(outer.len());
        let budget = INFLATE_FLOOR + INFLATE_RATIO * outer.len();
        let mut level = encoded_texts(&outer, &mut inflation);
        let mut total = 0;
        while !level.is_empty() {
            total += level.iter().map(|(_, t)| t.len()).sum::<usize>();
            level = level
                .iter()
                .flat_map(|(_, t)| encoded_texts(t, &mut inflation))
                .collect();
        }
        assert!(inflation.cut());
        assert!(
            total <= budget,
            "{total} read, against a budget of {budget}"
        );
    }

    /// A zip archive of `files` (name, content, deflated?) as a writer lays one out: local
    /// headers and data, the central directory, its end (CRCs are not read, so left zero).
    pub(crate) fn zip(files: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let (mut out, mut directory) = (Vec::new(), Vec::new());
        let le16 = |v: usize| (v as u16).to_le_bytes();
        let le32 = |v: usize| (v as u32).to_le_bytes();
        for (name, data, deflate) in files {
            let stored = if *deflate {
                miniz_oxide::deflate::compress_to_vec(data, 6)
            } else {
                data.to_vec()
            };
            let method = if *deflate { 8 } else { 0 };
            let offset = out.len();
            out.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00");
            out.extend_from_slice(&le16(method));
            out.extend_from_slice(&[0; 8]);
            out.extend_from_slice(&le32(stored.len()));
            out.extend_from_slice(&le32(data.len()));
            out.extend_from_slice(&le16(name.len()));
            out.extend_from_slice(&le16(0));
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&stored);
            directory.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00");
            directory.extend_from_slice(&le16(method));
            directory.extend_from_slice(&[0; 8]);
            directory.extend_from_slice(&le32(stored.len()));
            directory.extend_from_slice(&le32(data.len()));
            directory.extend_from_slice(&le16(name.len()));
            directory.extend_from_slice(&[0; 12]);
            directory.extend_from_slice(&le32(offset));
            directory.extend_from_slice(name.as_bytes());
        }
        let at = out.len();
        out.extend_from_slice(&directory);
        out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00");
        out.extend_from_slice(&le16(files.len()));
        out.extend_from_slice(&le16(files.len()));
        out.extend_from_slice(&le32(directory.len()));
        out.extend_from_slice(&le32(at));
        out.extend_from_slice(&le16(0));
        out
    }

    #[test]
    fn the_text_files_of_a_zip_archive_are_read() {
        // A `.docx` as Word lays one out: XML parts, stored and deflated, and an image.
        let document = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document><w:body><w:p><w:r><w:t>Deploy notes: OPENAI_API_KEY=sk-proj-0123456789</w:t></w:r></w:p></w:body></w:document>"#;
        let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01";
        let docx = zip(&[
            (
                "[Content_Types].xml",
                b"<?xml version=\"1.0\"?><Types/>",
                false,
            ),
            ("word/document.xml", document.as_bytes(), true),
            ("word/media/image1.png", png, true),
            ("word/media/image2.png", png, false),
        ]);
        let seen = read(&format!(
            r#"{{"file_data": "data:application/vnd.openxmlformats-officedocument.wordprocessingml.document;base64,{}"}}"#,
            crate::base64::encode(&docx)
        ));
        assert_eq!(
            seen,
            format!("<?xml version=\"1.0\"?><Types/>\n{document}\n\n")
        );
        // An encrypted file is not read; an archive cut short (no directory) is not either.
        let mut locked = zip(&[("a.txt", b"token=hunter2024-secret", false)]);
        let flags = locked.len() - 22 - 46 - "a.txt".len() + 8;
        locked[flags] = 1;
        assert_eq!(read(&crate::base64::encode(&locked)), "");
        assert_eq!(read(&crate::base64::encode(&docx[..docx.len() - 30])), "");
    }

    #[test]
    fn a_zip_archive_is_read_within_the_budget() {
        // One file of 600 KB of text named a thousand times over by the directory.
        let text: String = (0..10_000)
            .map(|i| format!("Line {i}: revenue rose {}% in the quarter.\n", i % 7))
            .collect();
        let mut archive = zip(&[("report.txt", text.as_bytes(), true)]);
        let end = archive.len() - 22;
        let entry = archive[end - 46 - "report.txt".len()..end].to_vec();
        let mut tail = archive.split_off(end);
        for _ in 0..1000 {
            archive.extend_from_slice(&entry);
        }
        tail[8..12].copy_from_slice(&[0xe9, 0x03, 0xe9, 0x03]);
        tail[12..16].copy_from_slice(&((entry.len() * 1000) as u32).to_le_bytes());
        archive.extend_from_slice(&tail);
        let b64 = crate::base64::encode(&archive);
        let mut inflation = Inflation::for_text(b64.len());
        let budget = INFLATE_FLOOR + INFLATE_RATIO * b64.len();
        let found = encoded_texts(&b64, &mut inflation);
        assert!(inflation.cut());
        assert!(
            found[0].1.len() <= budget,
            "{} against {budget}",
            found[0].1.len()
        );
        assert!(found[0].1.starts_with(&text));
    }

    /// A tar archive of `files` (name, content) as `tar` lays one out: a header of 512 bytes
    /// (its checksum right) and the data padded to 512, a file each, then two blocks of zeros.
    fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in files {
            let mut header = [0u8; 512];
            header[..name.len()].copy_from_slice(name.as_bytes());
            header[100..107].copy_from_slice(b"0000644");
            header[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
            header[136..147].copy_from_slice(b"15044343400");
            header[148..156].copy_from_slice(b"        ");
            header[156] = b'0';
            header[257..263].copy_from_slice(b"ustar\0");
            header[263..265].copy_from_slice(b"00");
            let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
            header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
            out.extend_from_slice(&header);
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    #[test]
    fn the_text_files_of_a_tar_archive_are_read() {
        let env = b"OPENAI_API_KEY=sk-proj-0123456789\n";
        let archive = tar(&[
            ("app/.env", env),
            ("app/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00"),
            ("app/README", b"Run it with make.\n"),
        ]);
        let want = "OPENAI_API_KEY=sk-proj-0123456789\n\nRun it with make.\n\n\n";
        // Plain, and as a `.tar.gz`; cut short, what it holds whole.
        assert_eq!(read(&crate::base64::encode(&archive)), want);
        let tgz = gzip("", &archive);
        assert_eq!(read(&crate::base64::encode(&tgz)), want);
        assert_eq!(
            read(&crate::base64::encode(&archive[..512 + 20])),
            "OPENAI_API_KEY=sk-pr\n\n"
        );
        // Sizes: octal with its padding, GNU's base-256, and not a number.
        assert_eq!(tar_size(b"00000001750\0"), Some(1000));
        assert_eq!(tar_size(b"  1750 \0\0\0\0\0"), Some(1000));
        assert_eq!(
            tar_size(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xe8]),
            Some(1000)
        );
        assert_eq!(tar_size(b"0000000175x\0"), None);
        // A file said to run to the end of memory: the rest is taken for it (the padding and
        // the end blocks are not text), and the reading stops there.
        let mut huge = tar(&[("big.txt", b"token=hunter2024")]);
        huge[124..136].copy_from_slice(&[0x80, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]);
        assert_eq!(tar_text(&huge, &mut Inflation::for_text(huge.len())), None);
    }

    #[test]
    fn hex_of_a_compressed_file_is_read() {
        let file = "OPENAI_API_KEY=sk-proj-0123456789\n";
        let hex: String = gzip("a", file.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(read(&format!("dump: {hex}.")), format!("{file}\n"));
    }

    #[cfg(feature = "server")]
    #[test]
    fn compressed_files_in_raw_bytes_are_found() {
        let env = b"OPENAI_API_KEY=sk-proj-0123456789\n";
        let mut body = b"--b\r\nContent-Type: application/gzip\r\n\r\n".to_vec();
        body.extend(gzip(".env", env));
        body.extend_from_slice(b"\r\n--b\r\n\r\n");
        body.extend(zip(&[("a.txt", b"token=hunter2024-xyz", true)]));
        body.extend_from_slice(b"\r\n--b--\r\n");
        let found = embedded_texts(&body, &mut Inflation::for_text(body.len()));
        assert_eq!(
            found,
            [
                "OPENAI_API_KEY=sk-proj-0123456789\n",
                "token=hunter2024-xyz\n"
            ]
        );
        // A tar's every header is where an archive may start: each such reading is charged.
        let line = "Line: revenue rose 4% in the quarter, costs flat.\n".repeat(60);
        let names: Vec<String> = (0..40).map(|i| format!("notes-{i}.txt")).collect();
        let files: Vec<(&str, &[u8])> = names
            .iter()
            .map(|n| (n.as_str(), line.as_bytes()))
            .collect();
        let archive = tar(&files);
        let mut inflation = Inflation::for_text(archive.len());
        let budget = INFLATE_FLOOR + INFLATE_RATIO * archive.len();
        let read: usize = embedded_texts(&archive, &mut inflation)
            .iter()
            .map(String::len)
            .sum();
        // The budget, and a line break after each file of each of the 32 readings.
        let most = budget + 32 * files.len();
        assert!(
            read <= most && inflation.cut(),
            "{read} read, against {most}"
        );
        // Signatures by the thousand, as random bytes may hold them: a few are looked at.
        let noise = b"PK\x03\x04\x1f\x8b\x08ustar".repeat(10_000);
        let mut inflation = Inflation::for_text(noise.len());
        assert!(embedded_texts(&noise, &mut inflation).is_empty());
    }

    #[test]
    fn files_compressed_otherwise_are_noted_unread() {
        // An `.env.xz` as a document block: not read, and the reading says so.
        let mut xz = b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46\x02\x00\x21\x01".to_vec();
        xz.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
        let body = format!(r#"{{"data": "{}"}}"#, crate::base64::encode(&xz));
        let mut inflation = Inflation::for_text(body.len());
        assert!(encoded_texts(&body, &mut inflation).is_empty());
        assert_eq!(
            inflation.unread().as_deref(),
            Some("a file in it is compressed with xz, which the guard does not read")
        );
        // Text, an image, a gzip file read whole: nothing unread.
        for quiet in [
            crate::base64::encode(b"Quarterly figures: revenue up 4%, costs flat."),
            crate::base64::encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"),
            crate::base64::encode(&gzip("a", b"Quarterly figures: revenue up 4%.")),
        ] {
            let mut inflation = Inflation::for_text(quiet.len());
            encoded_texts(&quiet, &mut inflation);
            assert_eq!(inflation.unread(), None, "{quiet}");
        }
    }

    #[cfg(feature = "server")]
    #[test]
    fn files_compressed_otherwise_in_raw_bytes_are_noted_unread() {
        let mut body = b"--b\r\nContent-Type: application/x-bzip2\r\n\r\nBZh91AY&SY".to_vec();
        body.extend_from_slice(b"\x12\x34\r\n--b--\r\n");
        let mut inflation = Inflation::for_text(body.len());
        assert!(embedded_texts(&body, &mut inflation).is_empty());
        assert!(inflation.unread().is_some_and(|why| why.contains("bzip2")));
        // zstd's short signature counts only as the body's start.
        let mut inflation = Inflation::for_text(10);
        embedded_texts(b"x\x28\xb5\x2f\xfd", &mut inflation);
        assert_eq!(inflation.unread(), None);
        embedded_texts(b"\x28\xb5\x2f\xfd\x00", &mut inflation);
        assert!(inflation.unread().is_some_and(|why| why.contains("zstd")));
    }
}

//! Archives: the files of a zip archive (`.zip`, and the `.docx`, `.xlsx` and `.odt` files that
//! are zip archives of XML), found through its central directory or, when it has none (cut
//! short, or written as a stream), header by header; and the files of a tar archive. Each
//! file is read as [`Inflation::file_text_in`] reads one, an archive or a compressed file in
//! it included, and charged to the budget.
//!
//! Uses the budget and the little-endian readers of its parent, and `memchr`.

use super::super::DATA_PROBE;
use super::{Inflation, inflate_at_most, le16, le32};

/// What reading an archive found: the text of its files, a line each (empty when none is
/// text), and how far into the bytes the archive runs, so that a body's search for archives
/// does not start another reading inside one.
pub(in crate::redact::detect::encoded) struct Opened {
    pub(in crate::redact::detect::encoded) text: String,
    #[cfg_attr(
        not(feature = "server"),
        allow(dead_code, reason = "the guard's search for raw archives reads it")
    )]
    pub(in crate::redact::detect::encoded) extent: usize,
}

impl Opened {
    /// The text found, when there is some.
    pub(in crate::redact::detect::encoded) fn into_text(self) -> Option<String> {
        (!self.text.is_empty()).then_some(self.text)
    }
}

/// The files of the zip archive `bytes` start with, each read at `depth`: through the central
/// directory when an end record's offsets agree with an archive starting there, else from one
/// local header to the next. What each file holds is charged to the budget (for one that is
/// not read, an image, the start that told so), so an archive whose directory names one file
/// many times is read no further than the budget. An encrypted file, or one compressed
/// with a method other than deflate, is noted unread.
pub(in crate::redact::detect::encoded) fn zip(
    bytes: &[u8],
    inflation: &mut Inflation,
    depth: usize,
) -> Opened {
    let mut text = String::new();
    let Some((mut at, count, extent)) = directory(bytes) else {
        let extent = zip_by_headers(bytes, inflation, depth, &mut text);
        return Opened { text, extent };
    };
    for _ in 0..count {
        if bytes.get(at..at.saturating_add(4)) != Some(b"PK\x01\x02") {
            break;
        }
        let (Some(flags), Some(method), Some(size), Some(local)) = (
            le16(bytes, at + 8),
            le16(bytes, at + 10),
            le32(bytes, at + 20),
            le32(bytes, at + 42),
        ) else {
            break;
        };
        let lengths = [28, 30, 32].map(|k| le16(bytes, at + k).unwrap_or(usize::MAX / 4));
        at = at.saturating_add(46 + lengths.iter().sum::<usize>());
        if let Some(data) = file_data(bytes, local, size) {
            zip_file(flags, method, data, inflation, depth, &mut text);
        }
    }
    Opened { text, extent }
}

/// Where the central directory of the zip archive `bytes` start with starts, how many files it
/// names, and where the archive ends: from the first end record whose directory's size and
/// offset put the directory right before it.
fn directory(bytes: &[u8]) -> Option<(usize, usize, usize)> {
    memchr::memmem::find_iter(bytes, b"PK\x05\x06").find_map(|end| {
        let count = le16(bytes, end + 10)?;
        let size = le32(bytes, end + 12)?;
        let offset = le32(bytes, end + 16)?;
        (offset.checked_add(size)? == end).then_some((offset, count, end + 22))
    })
}

/// Reads a zip archive without its directory, one local header after another, and gives
/// where the last one ends. A file whose size its header does not give (written as a stream,
/// sizes after the data) runs to the next header.
fn zip_by_headers(
    bytes: &[u8],
    inflation: &mut Inflation,
    depth: usize,
    text: &mut String,
) -> usize {
    let mut at = 0usize;
    while bytes.get(at..at.saturating_add(4)) == Some(b"PK\x03\x04") {
        let (Some(flags), Some(method), Some(size), Some(name), Some(extra)) = (
            le16(bytes, at + 6),
            le16(bytes, at + 8),
            le32(bytes, at + 18),
            le16(bytes, at + 26),
            le16(bytes, at + 28),
        ) else {
            break;
        };
        // A header as a zip writer lays one out: a method zip knows, a name of text. (A body's
        // raw bytes may hold the signature by chance.)
        let named = bytes
            .get(at + 30..at + 30 + name)
            .is_some_and(|n| !n.is_empty() && super::super::is_text(n));
        let Some(rest) = bytes.get(at + 30 + name + extra..) else {
            break;
        };
        if !named || !matches!(method, 0 | 8 | 9 | 12 | 14 | 93 | 95 | 98) {
            break;
        }
        let len = if flags & 8 == 0 && size != 0xffff_ffff {
            size.min(rest.len())
        } else {
            memchr::memmem::find(rest, b"PK\x03\x04").unwrap_or(rest.len())
        };
        zip_file(flags, method, &rest[..len], inflation, depth, text);
        at += 30 + name + extra + len;
    }
    at
}

/// Reads one file of a zip archive, `data` as it is stored, into `text`.
fn zip_file(
    flags: usize,
    method: usize,
    data: &[u8],
    inflation: &mut Inflation,
    depth: usize,
    text: &mut String,
) {
    if flags & 1 != 0 {
        inflation.unread.locked = true;
        return;
    }
    if method != 0 && method != 8 {
        inflation.unread.codec.get_or_insert(zip_method(method));
        return;
    }
    if inflation.left == 0 {
        inflation.unread.cut |= !data.is_empty();
        return;
    }
    // At most `limit` bytes of the file, and whether it holds more.
    let read = |limit: usize| match method {
        0 => (data[..data.len().min(limit)].to_vec(), data.len() > limit),
        _ => inflate_at_most(data, limit),
    };
    // Its start tells whether it may hold text; only then is the rest read.
    let (start, _) = read(DATA_PROBE.min(inflation.left));
    if !Inflation::may_open(&start) {
        inflation.charge(start.len());
        inflation.note_codec(&start);
        return;
    }
    let (file, more) = read(inflation.left);
    inflation.unread.cut |= more;
    inflation.charge(file.len());
    push_file(text, inflation.file_text_in(&file, depth));
}

/// Adds a file's text to an archive's, a line each; an empty file adds nothing.
fn push_file(text: &mut String, file: Option<String>) {
    if let Some(file) = file.filter(|f| !f.is_empty()) {
        text.push_str(&file);
        text.push('\n');
    }
}

/// The name of a zip compression method other than stored and deflated.
fn zip_method(method: usize) -> &'static str {
    match method {
        9 => "deflate64",
        12 => "bzip2",
        14 => "lzma",
        93 => "zstd",
        95 => "xz",
        98 => "ppmd",
        _ => "a zip method unknown to it",
    }
}

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

/// Whether `bytes` start as a tar archive does (POSIX ustar, and GNU tar's).
pub(in crate::redact::detect::encoded) fn is_tar(bytes: &[u8]) -> bool {
    bytes.get(257..262) == Some(b"ustar")
}

/// The regular files of the tar archive `bytes` start with, each read at `depth` and charged
/// to the budget (a body may hold many archives' signatures, each read from there on). An
/// archive cut short is read as far as it goes.
pub(in crate::redact::detect::encoded) fn tar(
    bytes: &[u8],
    inflation: &mut Inflation,
    depth: usize,
) -> Opened {
    let mut text = String::new();
    if !is_tar(bytes) {
        return Opened { text, extent: 0 };
    }
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
            inflation.unread.cut |= data.len() < size.min(bytes.len() - start);
            inflation.charge(data.len());
            push_file(&mut text, inflation.file_text_in(data, depth));
        }
        at = start.saturating_add(size.div_ceil(512).saturating_mul(512));
    }
    Opened {
        text,
        extent: at.min(bytes.len()),
    }
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

#[cfg(test)]
mod tests {
    use super::super::super::encoded_texts;
    use super::super::tests::{gzip, read, tar as tar_of, zip as zip_of};
    use super::super::{INFLATE_FLOOR, INFLATE_RATIO};
    use super::*;

    #[test]
    fn the_text_files_of_a_zip_archive_are_read() {
        // A `.docx` as Word lays one out: XML parts, stored and deflated, and an image.
        let document = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document><w:body><w:p><w:r><w:t>Deploy notes: OPENAI_API_KEY=sk-proj-0123456789</w:t></w:r></w:p></w:body></w:document>"#;
        let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01";
        let docx = zip_of(&[
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
        // Each XML part, then its text content (the list of parts has none).
        let whole = format!(
            "<?xml version=\"1.0\"?><Types/>\n\n{document}\nDeploy notes: OPENAI_API_KEY=sk-proj-0123456789\n\n\n"
        );
        assert_eq!(seen, whole);
        // Cut short (its directory lost) or written as a stream (sizes after the data): read
        // header by header.
        assert_eq!(
            read(&crate::base64::encode(&docx[..docx.len() - 30])),
            whole
        );
        let mut streamed = zip_of(&[("a.txt", b"token=hunter2024-secret", true)]);
        streamed[6] = 8;
        streamed[18..26].fill(0);
        let directory = streamed.len() - 22 - 46 - "a.txt".len();
        streamed.truncate(directory);
        streamed.extend_from_slice(b"PK\x07\x08\x00\x00\x00\x00");
        assert_eq!(
            read(&crate::base64::encode(&streamed)),
            "token=hunter2024-secret\n\n"
        );
    }

    /// What reading `bytes`, base64-encoded, leaves unread.
    fn unread(bytes: &[u8]) -> Option<String> {
        let b64 = crate::base64::encode(bytes);
        let mut inflation = Inflation::for_text(b64.len());
        encoded_texts(&b64, &mut inflation);
        inflation.unread()
    }

    #[test]
    fn what_a_zip_archive_holds_unread_is_noted() {
        // An encrypted file; a file compressed with bzip2 (zip's method 12).
        let mut locked = zip_of(&[("a.txt", b"token=hunter2024-secret", false)]);
        let flags = locked.len() - 22 - 46 - "a.txt".len() + 8;
        locked[flags] = 1;
        assert_eq!(read(&crate::base64::encode(&locked)), "");
        assert_eq!(
            unread(&locked).as_deref(),
            Some("a file in it is encrypted, which the guard cannot read")
        );
        let mut bzip2 = zip_of(&[("a.txt", b"BZh91AY&SY...", false)]);
        let method = bzip2.len() - 22 - 46 - "a.txt".len() + 10;
        bzip2[method] = 12;
        assert!(unread(&bzip2).is_some_and(|why| why.contains("bzip2")));
        // A header of random bytes that only starts as a zip's does: not taken for a file.
        let mut noise = b"PK\x03\x04".to_vec();
        noise.extend((0..600u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8));
        assert_eq!(unread(&noise), None);
    }

    #[test]
    fn archives_and_compressed_files_inside_one_another_are_read() {
        let env = b"OPENAI_API_KEY=sk-proj-0123456789\n";
        let docx = zip_of(&[("word/document.xml", b"<w:t>Q3 notes</w:t>", true)]);
        // A `.docx` and a `.env.gz` in a `.zip`, the `.zip` in a `.tar.gz`.
        let inner = zip_of(&[
            ("notes.docx", &docx, false),
            (".env.gz", &gzip(".env", env), false),
        ]);
        let tgz = gzip("", &tar_of(&[("bundle.zip", &inner)]));
        assert_eq!(
            read(&crate::base64::encode(&tgz)),
            "<w:t>Q3 notes</w:t>\nQ3 notes\n\nOPENAI_API_KEY=sk-proj-0123456789\n\n\n\n"
        );
        assert_eq!(unread(&tgz), None);
        // Six deep is read; seven is not, and is noted.
        let mut nested = env.to_vec();
        for _ in 0..6 {
            nested = gzip("", &nested);
        }
        assert_eq!(
            read(&crate::base64::encode(&nested)),
            "OPENAI_API_KEY=sk-proj-0123456789\n\n"
        );
        assert_eq!(unread(&nested), None);
        let deeper = gzip("", &nested);
        assert_eq!(read(&crate::base64::encode(&deeper)), "");
        assert!(unread(&deeper).is_some_and(|why| why.contains("more than 6 deep")));
        // A file compressed otherwise, inside a tar: noted.
        let mut xz = b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46".to_vec();
        xz.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
        assert!(unread(&tar_of(&[(".env.xz", &xz)])).is_some_and(|why| why.contains("xz")));
    }

    #[test]
    fn a_zip_archive_is_read_within_the_budget() {
        // One file of 600 KB of text named a thousand times over by the directory.
        let text: String = (0..10_000)
            .map(|i| format!("Line {i}: revenue rose {}% in the quarter.\n", i % 7))
            .collect();
        let mut archive = zip_of(&[("report.txt", text.as_bytes(), true)]);
        let end = archive.len() - 22;
        let entry = archive[end - 46 - "report.txt".len()..end].to_vec();
        let mut tail = archive.split_off(end);
        for _ in 0..1000 {
            archive.extend_from_slice(&entry);
        }
        tail[8..12].copy_from_slice(&[0xe9, 0x03, 0xe9, 0x03]);
        tail[12..16].copy_from_slice(&((entry.len() * 1001) as u32).to_le_bytes());
        archive.extend_from_slice(&tail);
        let b64 = crate::base64::encode(&archive);
        let mut inflation = Inflation::for_text(b64.len());
        let budget = INFLATE_FLOOR + INFLATE_RATIO * b64.len();
        let found = encoded_texts(&b64, &mut inflation);
        assert!(inflation.cut());
        // The budget, and a line break after each of the files read (two whole, one in part).
        assert!(
            found[0].1.len() <= budget + 3,
            "{} against {budget}",
            found[0].1.len()
        );
        assert!(found[0].1.starts_with(&text));
    }

    #[test]
    fn the_text_files_of_a_tar_archive_are_read() {
        let env = b"OPENAI_API_KEY=sk-proj-0123456789\n";
        let archive = tar_of(&[
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
        let mut huge = tar_of(&[("big.txt", b"token=hunter2024")]);
        huge[124..136].copy_from_slice(&[0x80, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]);
        assert_eq!(
            tar(&huge, &mut Inflation::for_text(huge.len()), 1).into_text(),
            None
        );
    }
}

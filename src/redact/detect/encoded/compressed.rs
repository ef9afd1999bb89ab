//! Compressed files and archives inside encoded text or raw bytes: a gzip member or a zlib
//! stream inflated, a zip or a tar archive opened ([`archive`]), one inside another (a `.docx`
//! in a `.zip`, a `.env.gz` in a `.tar`) up to [`MAX_DEPTH`] deep, a PDF's pages read
//! ([`pdf`]), a compound file's streams read for their runs of text ([`compound`]: legacy
//! Office documents, Outlook messages), and the text of every file read, all within one [`Inflation`] budget per
//! reading. What is not read (a file compressed
//! otherwise, encrypted, nested deeper, or past the budget) is noted, never passed over.
//!
//! Uses `miniz_oxide` (inflate) and `memchr`.

use super::text_of;

mod archive;
mod compound;
mod markup;
mod pdf;
mod strings;

use self::archive::is_tar;
use self::compound::is_compound;
#[cfg(feature = "server")]
pub(crate) use self::markup::rtf_in;
pub(super) use self::markup::with_text_content;
pub(super) use self::pdf::is_pdf;
#[cfg(feature = "server")]
pub(crate) use self::strings::wide_strings;

/// How much compressed content one reading may inflate, all its levels together: at least
/// [`INFLATE_FLOOR`] bytes, and [`INFLATE_RATIO`] times the text it starts from. What a
/// stream holds past the budget is not read, and the reading says so
/// ([`unread`](Self::unread)), as it does of a file compressed in a way it does not read, an
/// encrypted file, and archives nested deeper than [`MAX_DEPTH`].
#[derive(Debug)]
pub(crate) struct Inflation {
    left: usize,
    /// How many more AES-256 PDFs of revision 6 this reading opens (see `pdf::crypt`).
    hardened_left: usize,
    unread: Unread,
}

/// What a reading left unread, and why.
#[derive(Debug, Default, Clone, Copy)]
struct Unread {
    /// A stream held more than the budget left.
    cut: bool,
    /// The first compression met that is not read (xz, bzip2, ...).
    codec: Option<&'static str>,
    /// An archive held an encrypted file.
    locked: bool,
    /// Archives or compressed files were nested deeper than [`MAX_DEPTH`].
    deep: bool,
    /// A PDF drew glyph numbers that no font's map turns into characters.
    glyphs: bool,
    /// More AES-256 PDFs (revision 6) than a reading opens ([`pdf::MAX_HARDENED`]).
    hardened: bool,
}

impl Unread {
    /// Whether anything was left unread.
    fn any(self) -> bool {
        self.cut || self.codec.is_some() || self.locked || self.deep || self.glyphs || self.hardened
    }

    /// Both readings' reasons; the first compression named by either, `self`'s first.
    fn and(self, other: Self) -> Self {
        Self {
            cut: self.cut || other.cut,
            codec: self.codec.or(other.codec),
            locked: self.locked || other.locked,
            deep: self.deep || other.deep,
            glyphs: self.glyphs || other.glyphs,
            hardened: self.hardened || other.hardened,
        }
    }
}

/// A file this reading opens, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    /// A gzip member or a zlib stream, its deflate data from this offset.
    Deflated(usize),
    Zip,
    Tar,
    Pdf,
    Compound,
}

impl Container {
    fn of(bytes: &[u8]) -> Option<Self> {
        if let Some(start) = deflate_start(bytes) {
            Some(Self::Deflated(start))
        } else if bytes.starts_with(b"PK\x03\x04") {
            Some(Self::Zip)
        } else if is_tar(bytes) {
            Some(Self::Tar)
        } else if is_pdf(bytes) {
            Some(Self::Pdf)
        } else if is_compound(bytes) {
            Some(Self::Compound)
        } else {
            None
        }
    }
}

/// The least an [`Inflation`] budget allows: a compressed file of some pages.
const INFLATE_FLOOR: usize = 64 * 1024;

/// How many bytes an [`Inflation`] budget allows for each byte of the text read: text
/// compresses to a third to a tenth of itself, and its base64 is a third longer again.
const INFLATE_RATIO: usize = 8;

/// How many archives and compressed files one reading opens one inside another: a `.docx` in a
/// `.zip` in a `.tar.gz` is four deep (the gzip member, the tar, the zip, the `.docx`).
const MAX_DEPTH: usize = 6;

impl Inflation {
    /// The budget for reading a text of `len` bytes.
    pub(crate) fn for_text(len: usize) -> Self {
        Self {
            left: INFLATE_FLOOR.saturating_add(len.saturating_mul(INFLATE_RATIO)),
            hardened_left: pdf::MAX_HARDENED,
            unread: Unread::default(),
        }
    }

    /// Charges `n` bytes read to the budget.
    fn charge(&mut self, n: usize) {
        self.left -= n.min(self.left);
    }

    /// Whether a compressed stream was read only in part: it held more than the budget left.
    #[cfg(test)]
    fn cut(&self) -> bool {
        self.unread.cut
    }

    /// Runs `read` within this budget, and tells whether it left anything unread itself
    /// (whatever readings before it left).
    pub(super) fn reading<R>(&mut self, read: impl FnOnce(&mut Self) -> R) -> (R, bool) {
        let before = std::mem::take(&mut self.unread);
        let out = read(self);
        let left_unread = self.unread.any();
        self.unread = before.and(self.unread);
        (out, left_unread)
    }

    /// Why part of what was read is unread, when it is: a file compressed in a way the reading
    /// does not know, an encrypted file, archives nested too deep, or a stream that held more
    /// than the budget.
    #[cfg_attr(
        not(feature = "server"),
        allow(dead_code, reason = "the guard reads it")
    )]
    pub(crate) fn unread(&self) -> Option<String> {
        let Unread {
            cut,
            codec,
            locked,
            deep,
            glyphs,
            hardened,
        } = self.unread;
        if let Some(codec) = codec {
            Some(format!(
                "a file in it is compressed with {codec}, which the guard does not read"
            ))
        } else if locked {
            Some("a file in it is encrypted, which the guard cannot read".to_owned())
        } else if deep {
            Some(format!(
                "it holds archives or compressed files more than {MAX_DEPTH} deep, past what \
                 the guard opens"
            ))
        } else if glyphs {
            Some(
                "a PDF in it draws text in a font with no map to characters, which the guard \
                 cannot read"
                    .to_owned(),
            )
        } else if hardened {
            Some(format!(
                "it holds more than {} PDFs encrypted with AES-256, past what the guard opens",
                pdf::MAX_HARDENED
            ))
        } else if cut {
            Some("a compressed file in it holds more than the guard inflates".to_owned())
        } else {
            None
        }
    }

    /// Notes `bytes` as unread when they start as a file compressed in a way not read here
    /// ([`CODECS`]).
    pub(super) fn note_codec(&mut self, bytes: &[u8]) {
        if let Some((name, _)) = CODECS.iter().find(|(_, magic)| bytes.starts_with(magic)) {
            self.unread.codec.get_or_insert(name);
        }
    }

    /// Whether bytes that start with `head` are text or a file this reading opens: a gzip
    /// member, a zlib stream, a zip or a tar archive, a PDF, a compound file.
    pub(super) fn may_open(head: &[u8]) -> bool {
        text_of(head).is_some() || Container::of(head).is_some()
    }

    /// The text of a file: its own, when it is text (and an XML file's text content after
    /// it); the text of the files inside, when it is
    /// a gzip member, a zlib stream, a zip or a tar archive (one inside another up to
    /// [`MAX_DEPTH`] deep, a line each), the text of a PDF's pages, or the runs of text in a
    /// compound file's streams; `None` otherwise, or
    /// when none of them is text. A file compressed otherwise, or nested deeper, is noted.
    pub(super) fn file_text(&mut self, bytes: &[u8]) -> Option<String> {
        self.file_text_in(bytes, 0)
    }

    /// [`file_text`](Self::file_text) of a file inside `depth` others.
    fn file_text_in(&mut self, bytes: &[u8], depth: usize) -> Option<String> {
        let container = Container::of(bytes);
        // A PDF may be all ASCII, yet is read as a PDF, for its pages' strings.
        if container != Some(Container::Pdf)
            && let Some(text) = text_of(bytes)
        {
            return Some(with_text_content(text));
        }
        let Some(container) = container else {
            self.note_codec(bytes);
            return None;
        };
        if depth >= MAX_DEPTH {
            self.unread.deep = true;
            return None;
        }
        match container {
            Container::Deflated(start) => {
                let inflated = self.inflate(&bytes[start..]);
                self.file_text_in(&inflated, depth + 1)
            }
            Container::Zip => archive::zip(bytes, self, depth + 1).into_text(),
            Container::Tar => archive::tar(bytes, self, depth + 1).into_text(),
            Container::Pdf => pdf::pdf(bytes, self).into_text(),
            Container::Compound => compound::compound(bytes, self, depth + 1).into_text(),
        }
    }

    /// Raw deflate data inflated, as far as the budget goes (a stream cut short or damaged: as
    /// far as it inflates).
    fn inflate(&mut self, deflated: &[u8]) -> Vec<u8> {
        let (out, more) = inflate_at_most(deflated, self.left);
        self.unread.cut |= more;
        self.charge(out.len());
        out
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

/// The text in compressed files and archives carried as raw bytes inside `bytes` (a request
/// body that is one, `Content-Type: application/gzip`, or a `multipart/form-data` upload
/// holding one among its parts): each gzip member, zip and tar archive, PDF and compound
/// file found by its signature (but inside an archive read before), read within `inflation`,
/// a text each. At most [`MAX_EMBEDDED`] of each kind are read: a body of random bytes may
/// hold their signatures by chance, many times.
#[cfg(feature = "server")]
pub(crate) fn embedded_texts(bytes: &[u8], inflation: &mut Inflation) -> Vec<String> {
    // Each of these files starts with, or (bzip2's) goes on with, a control byte or a byte
    // that is not UTF-8: a body that is text, as nearly all are, holds none of them.
    if std::str::from_utf8(bytes).is_ok() && !has_control(bytes) {
        return Vec::new();
    }
    // Every place a gzip member, a zip or a tar archive may start, in order: an archive's own
    // files and headers hold the signatures again (a `.gz` stored in a `.zip`, a `.zip` in a
    // `.tar`), and are read with it, not again by themselves.
    let mut starts: Vec<(usize, usize)> = memchr::memmem::find_iter(bytes, b"\x1f\x8b\x08")
        .map(|at| (at, GZIP))
        .chain(memchr::memmem::find_iter(bytes, b"PK\x03\x04").map(|at| (at, ZIP)))
        .chain(
            memchr::memmem::find_iter(bytes, b"ustar")
                .filter(|&at| at >= 257)
                .map(|at| (at - 257, TAR)),
        )
        .chain(memchr::memmem::find_iter(bytes, b"%PDF-").map(|at| (at, PDF)))
        .chain(memchr::memmem::find_iter(bytes, compound::SIGNATURE).map(|at| (at, COMPOUND)))
        .collect();
    starts.sort_unstable();
    let mut found = Vec::new();
    let mut past = 0;
    let mut opened = [0; 5];
    for (at, kind) in starts {
        if at < past || opened[kind] == MAX_EMBEDDED {
            continue;
        }
        opened[kind] += 1;
        let file = &bytes[at..];
        let archive = match kind {
            GZIP => {
                found.extend(inflation.file_text(file));
                continue;
            }
            ZIP => archive::zip(file, inflation, 1),
            PDF => pdf::pdf(file, inflation),
            COMPOUND => compound::compound(file, inflation, 1),
            _ => archive::tar(file, inflation, 1),
        };
        past = at + archive.extent;
        found.extend(archive.into_text());
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

/// The kinds of file [`embedded_texts`] looks for, as indices.
#[cfg(feature = "server")]
const GZIP: usize = 0;
#[cfg(feature = "server")]
const ZIP: usize = 1;
#[cfg(feature = "server")]
const TAR: usize = 2;
#[cfg(feature = "server")]
const PDF: usize = 3;
#[cfg(feature = "server")]
const COMPOUND: usize = 4;

/// Whether `bytes` may hold a compressed file, raw or encoded, which reading inflates to many
/// times its size: a run of base64 or hex (of [`MIN_RUN`](super::MIN_RUN) characters or more)
/// that starts as one does (a gzip member `H4sI`, a zip archive `UEsDB`, a PDF `JVBERi0`, a
/// zlib stream at its usual levels `eJw`..`eJz` and `eNo`..`eNr`, a compound file
/// `0M8R4KGx`; `1f8b08`, `504b0304`, `789c`, `78da`, `d0cf11e0` in hex), or a gzip member's,
/// a zip archive's or a PDF's signature as raw bytes. A quick look for where a reading
/// should run, which a body of prose passes over a few bytes in twenty; it may say yes of a
/// body that holds none.
#[cfg(feature = "server")]
pub(crate) fn may_inflate(bytes: &[u8]) -> bool {
    const STARTS: [&[u8]; 17] = [
        b"H4sI",
        b"UEsDB",
        b"JVBERi0",
        b"eJw",
        b"eJx",
        b"eJy",
        b"eJz",
        b"eNo",
        b"eNp",
        b"eNq",
        b"eNr",
        b"1f8b08",
        b"504b0304",
        b"789c",
        b"78da",
        // A compound file, whose streams may hold any of these (an Outlook message's
        // attachment).
        b"0M8R4KGx",
        b"d0cf11e0",
    ];
    let mut from = 0;
    while let Some(stretch) = super::next_stretch(bytes, from) {
        from = stretch.end;
        for run in super::runs(bytes, stretch) {
            from = from.max(run.span.end);
            if STARTS
                .iter()
                .any(|s| bytes[run.span.start..].starts_with(s))
            {
                return true;
            }
        }
    }
    // Raw: a gzip member's first byte or a zip header's third, found by one vector search; a
    // PDF's header.
    memchr::memchr2(0x1f, 0x03, bytes).is_some()
        && (memchr::memmem::find(bytes, b"\x1f\x8b").is_some()
            || memchr::memmem::find(bytes, b"PK\x03\x04").is_some())
        || memchr::memchr_iter(b'%', bytes).any(|at| bytes[at..].starts_with(b"%PDF-"))
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

#[cfg(test)]
mod tests;

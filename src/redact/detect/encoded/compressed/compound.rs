//! Compound files (Microsoft's compound file binary format, MS-CFB): legacy Office documents
//! (`.doc`, `.xls`, `.ppt`), Outlook messages (`.msg`), and the container an Office document
//! encrypted with a password is kept in. A compound file is a small file system in sectors:
//! each stream is found through the directory and read by following its chain of sectors
//! (so text whose sectors are out of order reads whole), a small one from the mini stream.
//! A stream that is a file this reading opens (an attachment that is a zip archive, a
//! compound file inside another) is read as one; any other for the runs of text it holds
//! ([`strings`](super::strings)). A document encrypted with a password is noted unread: an
//! `EncryptedPackage` (an encrypted `.docx`, `.xlsx`, `.pptx`), a Word document whose header
//! says so, an Excel workbook with a `FILEPASS` record, a PowerPoint file with a crypt
//! session. A file that starts as a compound file but whose header does not hold, or whose
//! directory lists nothing, is read for the runs of text in its bytes.
//!
//! Uses the budget and the little-endian readers of its parent.

use super::archive::Opened;
use super::strings::strings;
use super::{Inflation, le16, le32};

/// The first eight bytes of every compound file.
pub(super) const SIGNATURE: &[u8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";

/// A sector number past the last a file may use: the values above mark free sectors, the end
/// of a chain and the sectors of the allocation tables themselves.
const MAX_SECTOR: usize = 0xffff_fffa;

/// Streams shorter than this are kept in the mini stream, in sectors of 64 bytes: the value
/// every version's header must hold (one that says otherwise is not believed, so that it
/// cannot hide streams where they are not read).
const MINI_CUTOFF: usize = 4096;

/// Whether `bytes` start as a compound file does.
pub(super) fn is_compound(bytes: &[u8]) -> bool {
    bytes.starts_with(SIGNATURE)
}

/// The text of the compound file `bytes` start with, each stream read at `depth` and charged
/// to the budget (see the [module docs](self)).
pub(super) fn compound(bytes: &[u8], inflation: &mut Inflation, depth: usize) -> Opened {
    match Compound::open(bytes).and_then(|file| file.read(inflation, depth)) {
        Some(opened) => opened,
        None => {
            let read = &bytes[..bytes.len().min(inflation.left)];
            inflation.unread.cut |= read.len() < bytes.len();
            inflation.charge(read.len());
            Opened {
                text: strings(read),
                extent: bytes.len(),
            }
        }
    }
}

/// A compound file's allocation tables, read from its header.
struct Compound<'a> {
    bytes: &'a [u8],
    /// A sector's size, as a power of two (512 or 4,096 bytes).
    shift: u32,
    /// Each sector's next in its chain.
    fat: Vec<usize>,
    /// The first sector of the directory and of the mini stream's table.
    directory: usize,
    mini_fat: usize,
    /// How far into `bytes` the sectors read reach.
    extent: usize,
}

impl<'a> Compound<'a> {
    /// The file's header and allocation table, when they hold together.
    fn open(bytes: &'a [u8]) -> Option<Self> {
        if !is_compound(bytes) || le16(bytes, 0x1c)? != 0xfffe {
            return None;
        }
        let shift = match le16(bytes, 0x1e)? {
            9 => 9,
            12 => 12,
            _ => return None,
        };
        let mut file = Self {
            bytes,
            shift,
            fat: Vec::new(),
            directory: le32(bytes, 0x30)?,
            mini_fat: le32(bytes, 0x3c)?,
            extent: 512,
        };
        // The allocation table's sectors: the first 109 listed in the header, the rest in a
        // chain of further lists, each sector's last entry the next's number.
        let mut tables: Vec<usize> = (0..109)
            .filter_map(|i| le32(bytes, 0x4c + 4 * i))
            .take_while(|&s| s <= MAX_SECTOR)
            .collect();
        let mut list = le32(bytes, 0x44)?;
        let per_sector = (1 << shift) / 4;
        // No file needs more tables than cover its own sectors.
        let most = file.sectors() / per_sector + 1;
        while tables.len() < most {
            let Some(sector) = file.sector(list) else {
                break;
            };
            let entries = sector
                .chunks_exact(4)
                .map(|e| le32(e, 0).unwrap_or(usize::MAX));
            tables.extend(entries.take(per_sector - 1).filter(|&s| s <= MAX_SECTOR));
            list = le32(sector, sector.len() - 4).unwrap_or(usize::MAX);
        }
        tables.truncate(most);
        for table in tables {
            // A table sector past the end of a file cut short: its chains end there.
            match file.sector(table) {
                Some(sector) => file.fat.extend(
                    sector
                        .chunks_exact(4)
                        .map(|e| le32(e, 0).unwrap_or(usize::MAX)),
                ),
                None => file.fat.extend(std::iter::repeat_n(usize::MAX, per_sector)),
            }
        }
        Some(file)
    }

    /// How many sectors the file's bytes hold.
    fn sectors(&self) -> usize {
        (self.bytes.len() >> self.shift).saturating_sub(1)
    }

    /// The bytes of sector `n`, when the file holds it whole.
    fn sector(&mut self, n: usize) -> Option<&'a [u8]> {
        let start = n.checked_add(1)?.checked_mul(1 << self.shift)?;
        let end = start.checked_add(1 << self.shift)?;
        let sector = self.bytes.get(start..end)?;
        self.extent = self.extent.max(end);
        Some(sector)
    }

    /// At most `len` bytes of the chain of sectors that starts at `first`, `table` giving each
    /// sector's next, `sector` a sector's bytes: up to where the chain ends or leaves the file,
    /// and in no more steps than the table has entries (a chain may come back on itself).
    fn chain<'b>(
        &mut self,
        first: usize,
        len: usize,
        table: &[usize],
        mut sector: impl FnMut(&mut Self, usize) -> Option<&'b [u8]>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut at = first;
        for _ in 0..table.len().min(self.bytes.len()) {
            if out.len() >= len {
                break;
            }
            let Some(bytes) = sector(self, at) else {
                break;
            };
            out.extend_from_slice(&bytes[..bytes.len().min(len - out.len())]);
            match table.get(at) {
                Some(&next) if next <= MAX_SECTOR => at = next,
                _ => break,
            }
        }
        out
    }

    /// At most `len` bytes of the stream whose sectors start at `first`.
    fn stream(&mut self, first: usize, len: usize) -> Vec<u8> {
        let fat = std::mem::take(&mut self.fat);
        let out = self.chain(first, len, &fat, Self::sector);
        self.fat = fat;
        out
    }

    /// Every stream read, charged to the budget: the text of each, a line each. `None` when
    /// the directory lists no stream or root.
    fn read(mut self, inflation: &mut Inflation, depth: usize) -> Option<Opened> {
        let directory = self.stream(self.directory, self.bytes.len());
        let entries: Vec<Entry> = directory.chunks_exact(128).filter_map(Entry::of).collect();
        if entries.is_empty() {
            return None;
        }
        // The mini stream is the root's stream; its table a chain of the allocation table.
        let (mini_stream, mini_fat) = match entries.first().filter(|e| e.kind == ROOT) {
            Some(root) => {
                let mini = self.stream(root.start, root.size.min(self.bytes.len()));
                let table = self.stream(self.mini_fat, self.bytes.len());
                let table = table.chunks_exact(4).filter_map(|e| le32(e, 0)).collect();
                (mini, table)
            }
            None => (Vec::new(), Vec::new()),
        };
        let mut text = String::new();
        for entry in entries.iter().filter(|e| e.kind == STREAM) {
            if inflation.left == 0 {
                inflation.unread.cut |= entry.size > 0;
                break;
            }
            let len = entry.size.min(inflation.left);
            let stream = if entry.size < MINI_CUTOFF {
                // Mini sectors are of 64 bytes in every version; the last may be cut short.
                let mini = |_: &mut Self, n: usize| {
                    let end = n.checked_add(1)?.checked_mul(64)?.min(mini_stream.len());
                    mini_stream.get(n.checked_mul(64)?..end)
                };
                self.chain(entry.start, len, &mini_fat, mini)
            } else {
                self.stream(entry.start, len)
            };
            inflation.unread.cut |= len < entry.size && stream.len() == len;
            inflation.charge(stream.len());
            if encrypted(&entry.name, &stream) {
                inflation.unread.locked = true;
                continue;
            }
            let found = if Inflation::may_open(&stream) {
                inflation.file_text_in(&stream, depth)
            } else {
                inflation.note_codec(&stream);
                Some(strings(&stream))
            };
            if let Some(found) = found.filter(|f| !f.is_empty()) {
                text.push_str(&found);
                text.push('\n');
            }
        }
        Some(Opened {
            text,
            extent: self.extent,
        })
    }
}

/// The kinds of directory entry read: a stream, and the root (whose stream is the mini
/// stream).
const STREAM: u8 = 2;
const ROOT: u8 = 5;

/// One entry of a compound file's directory.
struct Entry {
    name: String,
    kind: u8,
    start: usize,
    size: usize,
}

impl Entry {
    /// The entry of 128 bytes `raw`, when it is a stream or the root.
    fn of(raw: &[u8]) -> Option<Self> {
        let kind = raw[0x42];
        if kind != STREAM && kind != ROOT {
            return None;
        }
        let name_len = le16(raw, 0x40)?.min(64);
        let units = raw[..name_len]
            .chunks_exact(2)
            .map(|u| u16::from_le_bytes([u[0], u[1]]))
            .take_while(|&u| u != 0);
        Some(Self {
            name: char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect(),
            kind,
            start: le32(raw, 0x74)?,
            // Version 3 files leave the size's high half undefined; no stream here is larger.
            size: le32(raw, 0x78)?,
        })
    }
}

/// Whether the stream `name` holds says its document is encrypted with a password.
fn encrypted(name: &str, stream: &[u8]) -> bool {
    match name {
        // An Office document encrypted whole (ECMA-376 agile or standard encryption).
        "EncryptedPackage" | "EncryptedSummary" => true,
        // Word's file header: its magic number, then `fEncrypted` in its flags.
        "WordDocument" => {
            le16(stream, 0) == Some(0xa5ec) && le16(stream, 10).unwrap_or(0) & 0x100 != 0
        }
        // Excel's records: a `FILEPASS` among the first, after the `BOF`.
        "Workbook" | "Book" => {
            let mut at = 0;
            for _ in 0..64 {
                let (Some(kind), Some(len)) = (le16(stream, at), le16(stream, at + 2)) else {
                    break;
                };
                if kind == 0x2f {
                    return true;
                }
                at += 4 + len;
            }
            false
        }
        // PowerPoint's `CryptSession10Container` record header.
        "PowerPoint Document" => memchr::memmem::find(stream, b"\x0f\x00\x14\x2f").is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{gzip, read};
    use super::*;

    const END: u32 = 0xffff_fffe;
    const FREE: u32 = 0xffff_ffff;

    /// A compound file as MS-CFB lays one out (version 3, sectors of 512 bytes) holding
    /// `streams`: those of 4,096 bytes or more in sectors of their own, in reverse order when
    /// `scatter` (so that only their chains read them in order); the others in the mini
    /// stream.
    pub(in crate::redact::detect::encoded) fn compound_file(
        streams: &[(&str, &[u8])],
        scatter: bool,
    ) -> Vec<u8> {
        let mut sectors: Vec<Vec<u8>> = Vec::new();
        let mut fat: Vec<u32> = Vec::new();
        let mut allocate = |data: &[u8], reverse: bool| -> u32 {
            if data.is_empty() {
                return END;
            }
            let chunks: Vec<&[u8]> = data.chunks(512).collect();
            let first = sectors.len();
            let mut order: Vec<usize> = (first..first + chunks.len()).collect();
            if reverse {
                order.reverse();
            }
            sectors.resize(first + chunks.len(), Vec::new());
            fat.resize(first + chunks.len(), END);
            for (i, chunk) in chunks.iter().enumerate() {
                let mut sector = chunk.to_vec();
                sector.resize(512, 0);
                sectors[order[i]] = sector;
                fat[order[i]] = order.get(i + 1).map_or(END, |&n| n as u32);
            }
            order[0] as u32
        };
        let (mut mini, mut mini_fat) = (Vec::new(), Vec::<u32>::new());
        let mut entries = Vec::new();
        for (name, data) in streams {
            let start = if data.len() >= 4096 {
                allocate(data, scatter)
            } else if data.is_empty() {
                END
            } else {
                let first = mini_fat.len() as u32;
                let count = data.len().div_ceil(64);
                mini_fat
                    .extend((1..=count).map(|k| if k == count { END } else { first + k as u32 }));
                mini.extend_from_slice(data);
                mini.resize(mini_fat.len() * 64, 0);
                first
            };
            entries.push((name.to_string(), STREAM, start, data.len()));
        }
        let mini_start = allocate(&mini, false);
        let table: Vec<u8> = mini_fat.iter().flat_map(|e| e.to_le_bytes()).collect();
        let mini_fat_start = allocate(&table, false);
        entries.insert(0, ("Root Entry".to_owned(), ROOT, mini_start, mini.len()));
        let mut directory = Vec::new();
        for (i, (name, kind, start, size)) in entries.iter().enumerate() {
            let mut entry = [0u8; 128];
            let units: Vec<u8> = name
                .encode_utf16()
                .chain([0])
                .flat_map(u16::to_le_bytes)
                .collect();
            entry[..units.len()].copy_from_slice(&units);
            entry[0x40..0x42].copy_from_slice(&(units.len() as u16).to_le_bytes());
            entry[0x42] = *kind;
            entry[0x43] = 1;
            // Left and right siblings, child: the streams as a chain of right siblings.
            let right = if i > 0 && i + 1 < entries.len() {
                i as u32 + 1
            } else {
                FREE
            };
            let child = if i == 0 && entries.len() > 1 { 1 } else { FREE };
            for (at, id) in [(0x44, FREE), (0x48, right), (0x4c, child)] {
                entry[at..at + 4].copy_from_slice(&id.to_le_bytes());
            }
            entry[0x74..0x78].copy_from_slice(&start.to_le_bytes());
            entry[0x78..0x7c].copy_from_slice(&(*size as u32).to_le_bytes());
            directory.extend_from_slice(&entry);
        }
        while directory.len() % 512 != 0 {
            let mut empty = [0u8; 128];
            empty[0x44..0x50].fill(0xff);
            directory.extend_from_slice(&empty);
        }
        let directory_start = allocate(&directory, false);
        // The allocation table's own sectors, marked as such in it.
        let tables = (sectors.len() + 1).div_ceil(127);
        let first_table = sectors.len();
        sectors.resize(first_table + tables, Vec::new());
        fat.resize(first_table + tables, 0xffff_fffd);
        fat.resize(tables * 128, FREE);
        let mut header = vec![0u8; 512];
        header[..8].copy_from_slice(SIGNATURE);
        let fields: [(usize, u32, usize); 11] = [
            (0x18, 0x3e, 2),
            (0x1a, 3, 2),
            (0x1c, 0xfffe, 2),
            (0x1e, 9, 2),
            (0x20, 6, 2),
            (0x2c, tables as u32, 4),
            (0x30, directory_start, 4),
            (0x38, 4096, 4),
            (0x3c, mini_fat_start, 4),
            (0x40, table.len().div_ceil(512) as u32, 4),
            (0x44, END, 4),
        ];
        for (at, value, width) in fields {
            header[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
        }
        header[0x4c..].fill(0xff);
        for t in 0..tables {
            let at = 0x4c + 4 * t;
            header[at..at + 4].copy_from_slice(&((first_table + t) as u32).to_le_bytes());
            let entries = &fat[t * 128..(t + 1) * 128];
            sectors[first_table + t] = entries.iter().flat_map(|e| e.to_le_bytes()).collect();
        }
        header.extend(sectors.concat());
        header
    }

    fn utf16le(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    /// A Word document's main stream: its file header (magic number, version, flags
    /// `flags`), then its text in one byte a character, padded to a size of its own.
    fn word_document(text: &str, flags: u16) -> Vec<u8> {
        let mut stream = vec![0u8; 0x400];
        stream[..2].copy_from_slice(&0xa5ecu16.to_le_bytes());
        stream[2..4].copy_from_slice(&0xc1u16.to_le_bytes());
        stream[10..12].copy_from_slice(&flags.to_le_bytes());
        // The text straddles the sector boundary at 1,024.
        stream.truncate(1_000);
        stream.extend_from_slice(text.as_bytes());
        stream.resize(6_000, 0);
        stream
    }

    fn text_of(file: &[u8]) -> (String, Inflation) {
        let mut inflation = Inflation::for_text(file.len());
        let text = inflation.file_text(file).unwrap_or_default();
        (text, inflation)
    }

    #[test]
    fn the_streams_of_a_compound_file_are_read() {
        let key = "sk-proj-0123456789abcdefghij";
        // A legacy Word document whose sectors are out of order, its text across two.
        let doc = compound_file(
            &[
                (
                    "WordDocument",
                    &word_document(&format!("Deploy key: {key}"), 0),
                ),
                ("1Table", &[7u8; 600]),
            ],
            true,
        );
        let (text, inflation) = text_of(&doc);
        assert!(text.contains(&format!("Deploy key: {key}")), "{text:?}");
        assert!(inflation.unread().is_none());
        // An Outlook message: its body in UTF-16LE in the mini stream, an attachment that is
        // a gzip file of text.
        let body = utf16le(&format!(
            "Hi, the password is hunter2-staging and {key}\r\n"
        ));
        let attachment = gzip(
            "notes.txt",
            b"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG\n",
        );
        let msg = compound_file(
            &[
                ("__substg1.0_0037001F", &utf16le("Quarterly figures")),
                ("__substg1.0_1000001F", &body),
                ("__substg1.0_37010102", &attachment),
            ],
            false,
        );
        let (text, _) = text_of(&msg);
        assert!(text.contains("Quarterly figures"), "{text:?}");
        assert!(
            text.contains(&format!("password is hunter2-staging and {key}")),
            "{text:?}"
        );
        assert!(
            text.contains("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG"),
            "{text:?}"
        );
        // Sent to a model as a file input, in base64.
        let input = format!(
            r#"{{"file_data": "data:application/msword;base64,{}"}}"#,
            crate::base64::encode(&doc)
        );
        assert!(read(&input).contains(key));
        // In an entry, the redactor takes the whole run for a secret.
        let mut spans = Vec::new();
        super::super::super::encoded_secret(&input, &mut spans);
        assert_eq!(spans.len(), 1);
        assert!(input[spans[0].clone()].starts_with("data:application/msword;base64,0M8R4KGx"));
        assert_eq!(spans[0].end, input.len() - 2);
        // A compound file holding no text yields none.
        let (text, _) = text_of(&compound_file(&[("Data", &[0u8; 5000])], false));
        assert!(text.is_empty(), "{text:?}");
    }

    #[test]
    fn the_allocation_table_is_found_through_further_lists_too() {
        // As in a file of more than 109 table sectors: the header lists none itself, a
        // sector of its own lists the table's.
        let key = "sk-proj-0123456789abcdefghij";
        let mut doc = compound_file(&[("WordDocument", &word_document(key, 0))], true);
        let mut list: Vec<u8> = doc[0x4c..0x50].to_vec();
        list.resize(508, 0xff);
        list.extend_from_slice(&END.to_le_bytes());
        let sector = (doc.len() / 512 - 1) as u32;
        doc.extend_from_slice(&list);
        doc[0x44..0x48].copy_from_slice(&sector.to_le_bytes());
        doc[0x48..0x4c].copy_from_slice(&1u32.to_le_bytes());
        doc[0x4c..0x50].fill(0xff);
        let (text, _) = text_of(&doc);
        assert!(text.contains(key), "{text:?}");
    }

    #[test]
    fn a_document_encrypted_with_a_password_is_noted_unread() {
        let mut filepass = vec![0x09, 0x08, 4, 0, 0, 6, 5, 0];
        filepass.extend_from_slice(&[0x2f, 0, 2, 0, 1, 0]);
        filepass.resize(5000, 0);
        let encrypted = [
            compound_file(
                &[
                    ("EncryptionInfo", &[4u8; 300]),
                    ("EncryptedPackage", &[9u8; 5000]),
                ],
                false,
            ),
            compound_file(
                &[("WordDocument", &word_document("scrambled", 0x100))],
                false,
            ),
            compound_file(&[("Workbook", &filepass)], false),
        ];
        for (i, file) in encrypted.iter().enumerate() {
            let (_, inflation) = text_of(file);
            let why = inflation.unread().unwrap_or_default();
            assert!(why.contains("encrypted"), "file {i}: {why:?}");
        }
        // In an entry, an encrypted document is redacted whole: what cannot be read is not
        // kept.
        let input = format!("attached: {}", crate::base64::encode(&encrypted[0]));
        let mut spans = Vec::new();
        super::super::super::encoded_secret(&input, &mut spans);
        assert_eq!(spans.len(), 1, "{input}");
        // The same workbook without its `FILEPASS` record is read.
        filepass[8] = 0x3c;
        let (_, inflation) = text_of(&compound_file(&[("Workbook", &filepass)], false));
        assert!(inflation.unread().is_none());
    }

    #[test]
    fn a_compound_file_whose_structure_does_not_hold_is_read_for_its_strings() {
        let mut file = compound_file(&[("WordDocument", &word_document("x", 0))], false);
        file.extend(utf16le("OPENAI_API_KEY=sk-proj-0123456789"));
        // A sector size no version has; a directory that is not where the header says.
        let mut odd_sectors = file.clone();
        odd_sectors[0x1e] = 7;
        let mut no_directory = file.clone();
        no_directory[0x30..0x34].copy_from_slice(&END.to_le_bytes());
        // Cut short: the allocation table and the directory, which come last, are gone.
        let doc = compound_file(
            &[(
                "WordDocument",
                &word_document("OPENAI_API_KEY=sk-proj-0123456789", 0),
            )],
            false,
        );
        let cut = doc[..doc.len() * 2 / 3].to_vec();
        for file in [odd_sectors, no_directory, cut] {
            let (text, _) = text_of(&file);
            assert!(
                text.contains("OPENAI_API_KEY=sk-proj-0123456789"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_directory_naming_one_stream_many_times_is_read_no_further_than_the_budget() {
        let big = vec![b'a'; 64 * 1024];
        let names: Vec<String> = (0..20).map(|i| format!("S{i:02}")).collect();
        let mut streams: Vec<(&str, &[u8])> = vec![("A", &big)];
        streams.extend(names.iter().map(|n| (n.as_str(), &b"small"[..])));
        let mut file = compound_file(&streams, false);
        let (text, inflation) = text_of(&file);
        assert!(text.len() > big.len() && inflation.unread().is_none());
        // Every further entry made to point at the big stream's sectors.
        let entry = |file: &[u8], name: &str| {
            let units = utf16le(&format!("{name}\0"));
            memchr::memmem::find(file, &units).expect("an entry")
        };
        let a = entry(&file, "A");
        let start = file[a + 0x74..a + 0x7c].to_vec();
        for name in &names {
            let at = entry(&file, name);
            file[at + 0x74..at + 0x7c].copy_from_slice(&start);
        }
        let (text, inflation) = text_of(&file);
        assert!(
            inflation
                .unread()
                .is_some_and(|why| why.contains("more than"))
        );
        assert!(text.len() <= Inflation::for_text(file.len()).left + names.len());
    }
}

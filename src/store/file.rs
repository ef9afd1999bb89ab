//! The file store: opening a log file (lock it, re-walk and check the existing chain, repair a
//! torn tail), appending batches to it, checking around every batch that the file at the path
//! is still the one being written and that no one else wrote to it, cutting back a failed
//! batch, and reopening after a failure.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Seek, SeekFrom, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::chain::hash::{GENESIS, SigningKey};
use crate::store::error::Error;
use crate::store::outage::Reopen;
use crate::verify::{DEFAULT_MAX_LINE_BYTES, Failure, LineError, Lines, Seen, Verifier};

/// What to do when an existing file does not verify.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnCorrupt {
    /// Refuse to open it ([`Error::Corrupt`]), leaving it untouched. The default.
    #[default]
    Refuse,
    /// Keep it, renamed to `<name>.rejected-<unix-ms>` beside the original, and start a new
    /// chain at the path; the new chain records what was set aside and why.
    StartNewChain,
}

/// A repair made while opening a log, also recorded in the chain as a `recovery` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recovery {
    /// The last line was cut short (a crash mid-write) and was removed.
    TornTail {
        /// How many bytes were removed.
        bytes_removed: u64,
        /// SHA-256 of the removed bytes, to match them against a copy if one turns up.
        sha256: String,
    },
    /// The existing file did not verify; it was set aside and a new chain started.
    NewChain {
        /// Where the rejected file now is.
        previous: PathBuf,
        /// The verifier's finding on it.
        detail: String,
    },
}

/// The state of an opened, checked log file.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) file: File,
    /// The file's device and inode, to notice it being replaced.
    pub(crate) id: FileId,
    /// Length of the verified content.
    pub(crate) len: u64,
    pub(crate) entries: u64,
    pub(crate) head: String,
    pub(crate) next_seq: u64,
    pub(crate) recovery: Option<Recovery>,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::open(path, e)
}

/// Takes the file's exclusive advisory lock, waiting up to `wait` for it.
///
/// A lock is held by an open file description, which `fork` duplicates: a lock released a
/// moment ago can still be held by a child process of this one between its fork and its exec
/// (which closes the descriptor). A short wait absorbs that; a live writer elsewhere still
/// holds the lock when the wait is over. Runs on the writer's own thread, never on an async
/// runtime's worker.
pub(crate) fn lock(file: &File, path: &Path, wait: Duration) -> Result<(), Error> {
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    path: path.to_owned(),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::open(path, e)),
        }
    }
}

/// Opens (creating if needed, with permissions `mode` before the umask) and locks `path`,
/// verifies what it holds and repairs a torn tail.
pub(crate) fn open(
    path: &Path,
    key: Option<&SigningKey>,
    on_corrupt: OnCorrupt,
    lock_wait: Duration,
    mode: u32,
) -> Result<Opened, Error> {
    open_after(path, key, on_corrupt, lock_wait, mode, None)
}

/// As [`open`], for a file that continues a chain of `entries` entries ending at `head` (a
/// segment after its sealed predecessor).
pub(crate) fn open_after(
    path: &Path,
    key: Option<&SigningKey>,
    on_corrupt: OnCorrupt,
    lock_wait: Duration,
    mode: u32,
    after: Option<(u64, &str)>,
) -> Result<Opened, Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io_err(path))?;
    }
    let created = !path.exists();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(mode)
        .open(path)
        .map_err(io_err(path))?;
    lock(&file, path, lock_wait)?;
    if created {
        sync_dir(path).map_err(io_err(path))?;
    }
    let scanned = match scan(&mut file, path, key, after) {
        Err(Error::Forked { fork, .. }) if on_corrupt == OnCorrupt::StartNewChain => {
            return start_beside(path, file, fork.to_string(), lock_wait, mode);
        }
        other => other?,
    };
    let scan = match scanned {
        Ok(scan) => scan,
        Err(detail) => match on_corrupt {
            OnCorrupt::Refuse => {
                return Err(Error::Corrupt {
                    path: path.to_owned(),
                    detail,
                });
            }
            OnCorrupt::StartNewChain => {
                return start_beside(path, file, detail, lock_wait, mode);
            }
        },
    };
    let mut recovery = None;
    if let Some(cut_at) = scan.torn_at {
        let len = file.metadata().map_err(io_err(path))?.len();
        let removed = read_range(&mut file, cut_at, len).map_err(io_err(path))?;
        file.set_len(cut_at).map_err(io_err(path))?;
        file.sync_all().map_err(io_err(path))?;
        recovery = Some(Recovery::TornTail {
            bytes_removed: len - cut_at,
            sha256: crate::chain::hash::sha256_hex(&removed),
        });
    }
    let mut len = file.seek(SeekFrom::End(0)).map_err(io_err(path))?;
    if scan.needs_newline {
        // The last entry is whole and verifies; only its line break was lost.
        file.write_all(b"\n").map_err(io_err(path))?;
        file.sync_data().map_err(io_err(path))?;
        len += 1;
    }
    let id = file_id(&file.metadata().map_err(io_err(path))?);
    Ok(Opened {
        file,
        id,
        len,
        entries: scan.entries,
        head: scan.head,
        next_seq: scan.next_seq,
        recovery,
    })
}

struct Scan {
    entries: u64,
    head: String,
    next_seq: u64,
    /// Offset where an unterminated, unverifiable last line starts.
    torn_at: Option<u64>,
    /// The last line verifies but has no line break.
    needs_newline: bool,
}

/// Walks the file. The outer error is a refusal that does not depend on [`OnCorrupt`]; the
/// inner one is the verifier's finding on a chain that does not verify.
fn scan(
    file: &mut File,
    path: &Path,
    key: Option<&SigningKey>,
    after: Option<(u64, &str)>,
) -> Result<Result<Scan, String>, Error> {
    file.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
    let mut lines = Lines::new(
        BufReader::with_capacity(1 << 20, &*file),
        DEFAULT_MAX_LINE_BYTES,
    );
    let mut v = Verifier::new(key.cloned());
    if let Some((entries, head)) = after {
        v.continue_after(entries, head);
    }
    let start = v.entries();
    let mut torn_at = None;
    let mut needs_newline = false;
    let mut segment = Vec::new();
    loop {
        segment.clear();
        let terminated = match lines.next_segment(&mut segment) {
            Ok(None) => break,
            Ok(Some(t)) => t,
            Err(LineError::Io(e)) => return Err(Error::open(path, e)),
            Err(LineError::TooLong) => {
                return Ok(Err(format!(
                    "line {} is longer than {DEFAULT_MAX_LINE_BYTES} bytes",
                    lines.line_no()
                )));
            }
        };
        if !terminated {
            // The last bytes have no line break: a write cut short by a crash, unless they
            // form a whole entry that verifies.
            let mut trial = v.clone();
            match trial.feed(&segment, lines.line_no()) {
                Ok(Seen::Entry) => {
                    v = trial;
                    needs_newline = true;
                }
                Ok(Seen::Blank) => {}
                Ok(Seen::Meta) | Err(_) => torn_at = Some(lines.start()),
            }
            break;
        }
        match v.feed(&segment, lines.line_no()) {
            Ok(_) => {}
            Err(Failure::BadSignature { seq }) if key.is_some() => {
                return Err(if v.chain.last_unsigned {
                    Error::UnexpectedKey {
                        path: path.to_owned(),
                        seq,
                    }
                } else {
                    Error::WrongKey {
                        path: path.to_owned(),
                        seq,
                    }
                });
            }
            Err(failure) => {
                let report = v.finish_with(
                    &path.display().to_string(),
                    &Default::default(),
                    Some(failure),
                );
                let at = lines.line_no();
                drop(lines);
                return match find_fork(file, &segment, at) {
                    Some(fork) => Err(Error::Forked {
                        path: path.to_owned(),
                        fork,
                    }),
                    None => Ok(Err(report.detail())),
                };
            }
        }
    }
    // A pack (its header, or every entry annotated with controls even if the header is gone)
    // is read-only.
    if v.has_meta() || v.is_stripped_pack() {
        return Err(Error::NotALog {
            path: path.to_owned(),
        });
    }
    if key.is_none() && v.chain.saw_signed {
        return Err(Error::KeyRequired {
            path: path.to_owned(),
        });
    }
    let next_seq = match (v.entries(), v.chain.last_seq) {
        // Nothing in this file: the chain goes on at the count it continues (seqs run from 0
        // without holes in the chains this writer makes).
        (n, _) if n == start => start,
        (_, Some(seq)) => seq.saturating_add(1),
        (_, None) => {
            return Ok(Err(
                "the last entry's seq is not a non-negative integer".to_owned()
            ));
        }
    };
    debug_assert!(v.entries() > start || after.is_some() || v.head() == GENESIS);
    Ok(Ok(Scan {
        entries: v.entries(),
        head: v.head().to_owned(),
        next_seq,
        torn_at,
        needs_newline,
    }))
}

/// Sets a file that does not verify aside and opens a new, empty one at `path`.
fn start_beside(
    path: &Path,
    old: File,
    detail: String,
    lock_wait: Duration,
    mode: u32,
) -> Result<Opened, Error> {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".rejected-{ms}"));
    let previous = path.with_file_name(name);
    fs::rename(path, &previous).map_err(io_err(path))?;
    drop(old); // releases the lock on the set-aside file
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io_err(path))?;
    lock(&file, path, lock_wait)?;
    sync_dir(path).map_err(io_err(path))?;
    let id = file_id(&file.metadata().map_err(io_err(path))?);
    Ok(Opened {
        file,
        id,
        len: 0,
        entries: 0,
        head: GENESIS.to_owned(),
        next_seq: 0,
        recovery: Some(Recovery::NewChain { previous, detail }),
    })
}

fn read_range(file: &mut File, from: u64, to: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    file.seek(SeekFrom::Start(from))?;
    let mut out = Vec::with_capacity(usize::try_from(to - from).unwrap_or(0));
    file.take(to - from).read_to_end(&mut out)?;
    Ok(out)
}

/// Makes a new directory entry durable.
pub(crate) fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// A log file behind the writer: see [`Store`](super::Store).
#[derive(Debug)]
pub(crate) struct FileStore {
    file: File,
    /// The file's device and inode when opened.
    id: FileId,
    path: PathBuf,
    /// `path` made absolute when opened: where the checks look.
    checked: PathBuf,
    /// The file's length as this writer wrote it, the failed batch included.
    len: u64,
    /// The length up to the last acknowledged batch.
    committed: u64,
    key: Option<SigningKey>,
    lock_wait: Duration,
    /// The chain this file continues (a segment after its predecessor): entries and head.
    after: Option<(u64, String)>,
}

impl FileStore {
    /// The store of a segment that continues a chain of `entries` entries ending at `head`.
    #[cfg(feature = "ed25519")]
    pub(crate) fn continuing(mut self, entries: u64, head: &str) -> Self {
        self.after = Some((entries, head.to_owned()));
        self
    }

    /// The store of a file [`open`] opened and checked: its descriptor, identity and length.
    pub(crate) fn new(
        file: File,
        id: FileId,
        path: &Path,
        len: u64,
        key: Option<SigningKey>,
        lock_wait: Duration,
    ) -> Self {
        Self {
            file,
            id,
            path: path.to_owned(),
            // The identity checks look the file up by an absolute path: a relative one would
            // name another file once the process changed its working directory.
            checked: fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()),
            len,
            committed: len,
            key,
            lock_wait,
            after: None,
        }
    }
}

impl super::Store for FileStore {
    fn append(&mut self, lines: &[u8], sync: bool) -> Result<(), super::Fault> {
        use super::Fault;
        if !lines.is_empty() {
            // Never write after another writer's bytes: that would fork the chain.
            unchanged(&self.file, &self.checked, self.len).map_err(Fault::Foreign)?;
            self.file.write_all(lines).map_err(Fault::Io)?;
            self.len += lines.len() as u64;
        }
        if sync {
            self.file.sync_data().map_err(Fault::Io)?;
        }
        unchanged(&self.file, &self.checked, self.len).map_err(Fault::Foreign)?;
        at_path(&self.checked, self.id).map_err(Fault::Moved)?;
        self.committed = self.len;
        Ok(())
    }

    fn undo(&mut self, fault: &super::Fault) -> Reopen {
        use super::Fault;
        self.len = self.committed;
        if let Fault::Foreign(_) = fault {
            // Another writer's bytes are in the file: it is not this writer's to cut.
            return Reopen::Foreign;
        }
        let cut = self
            .file
            .set_len(self.committed)
            .and_then(|()| self.file.sync_data());
        match (fault, cut) {
            (Fault::Io(_), Ok(())) => Reopen::No,
            // The file may hold part of the failed batch: reopen, cut and check it first. A
            // moved file is reopened only once the path names it again.
            _ => Reopen::CutBackTo(self.committed),
        }
    }

    fn reopen(&mut self, entries: u64, head: &str, cut: bool) -> Result<(), String> {
        let want = Expected {
            id: self.id,
            len: self.committed,
            entries,
            head,
            cut,
            after: self.after.as_ref().map(|(n, h)| (*n, h.as_str())),
        };
        reopen(
            &self.path,
            self.key.as_ref(),
            self.lock_wait,
            &mut self.file,
            &want,
        )?;
        self.len = self.committed;
        Ok(())
    }

    fn extent(&self) -> u64 {
        self.committed
    }

    fn location(&self) -> &Path {
        &self.path
    }
}

/// A file's device and inode.
pub(crate) type FileId = (u64, u64);

pub(crate) fn file_id(m: &fs::Metadata) -> FileId {
    (m.dev(), m.ino())
}

/// Checks, before a batch is written, that the writer's open `file` is still linked and holds
/// exactly the `len` bytes this writer wrote: no one else appended to it (a writer that ignores
/// the lock, such as the Python reference's) or cut it. One system call (`fstat`).
pub(crate) fn unchanged(file: &File, path: &Path, len: u64) -> Result<(), String> {
    let shown = path.display();
    let m = file
        .metadata()
        .map_err(|e| format!("cannot check the open log file {shown}: {e}"))?;
    if m.nlink() == 0 {
        return Err(if path.exists() {
            replaced(path)
        } else {
            format!(
                "{shown} was deleted under the writer: entries written since went to a file \
                 nobody will read"
            )
        });
    }
    if m.len() != len {
        return Err(format!(
            "{shown} holds {} bytes where this writer wrote {len}: another process (one that \
             ignores the lock, such as the Python reference's writer) appended to it or cut it",
            m.len()
        ));
    }
    Ok(())
}

/// Checks, after a batch was written and before it is acknowledged, that `path` still names
/// the writer's file (device and inode `id`): it was not renamed, deleted or replaced under the
/// writer. One system call (`stat`).
pub(crate) fn at_path(path: &Path, id: FileId) -> Result<(), String> {
    let shown = path.display();
    match fs::metadata(path) {
        Ok(p) if file_id(&p) == id => Ok(()),
        Ok(_) => Err(replaced(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "{shown} no longer exists: the log was renamed or deleted under the writer"
        )),
        Err(e) => Err(format!("cannot check {shown}: {e}")),
    }
}

fn replaced(path: &Path) -> String {
    format!(
        "{} is now another file: the log was replaced or moved under the writer (for example by \
         an output written over it); entries written since went to a file nobody will read",
        path.display()
    )
}

/// What the writer knows the file must hold when it reopens it.
#[derive(Debug)]
pub(crate) struct Expected<'a> {
    pub(crate) id: FileId,
    pub(crate) len: u64,
    pub(crate) entries: u64,
    pub(crate) head: &'a str,
    /// Cut the file back to `len` first: what follows is the writer's own failed batch.
    pub(crate) cut: bool,
    /// The chain the file continues, if it is a later segment.
    pub(crate) after: Option<(u64, &'a str)>,
}

/// Reopens the log at `path` after a failure, and checks that it is the writer's file (the same
/// device and inode as when it was opened) holding exactly the chain the writer had: `len` bytes (after cutting back to it when `cut`), verifying, ending at `head`.
/// On success `file` is the new descriptor, locked. On failure, why not; the old descriptor may
/// have been replaced by the new, unlocked one, which the writer does not write to.
pub(crate) fn reopen(
    path: &Path,
    key: Option<&SigningKey>,
    lock_wait: Duration,
    file: &mut File,
    want: &Expected<'_>,
) -> Result<(), String> {
    let shown = path.display();
    let found = fs::metadata(path).map_err(|e| format!("cannot reopen {shown}: {e}"))?;
    if file_id(&found) != want.id {
        return Err(format!(
            "{shown} is not the file this writer was writing (it was replaced or moved, or its \
             volume came back as another device); refusing to continue another file's chain: \
             restart the service to open it anew"
        ));
    }
    let mut new = OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot reopen {shown}: {e}"))?;
    let size = new
        .metadata()
        .map_err(|e| format!("cannot reopen {shown}: {e}"))?
        .len();
    if want.cut && size > want.len {
        new.set_len(want.len)
            .and_then(|()| new.sync_data())
            .map_err(|e| format!("cannot cut {shown} back to {} bytes: {e}", want.len))?;
    }
    let scan = match scan(&mut new, path, key, want.after) {
        Ok(Ok(scan)) => scan,
        Ok(Err(detail)) => return Err(format!("{shown} no longer verifies: {detail}")),
        Err(e) => return Err(e.to_string()),
    };
    let len = new
        .seek(SeekFrom::End(0))
        .map_err(|e| format!("cannot reopen {shown}: {e}"))?;
    if scan.torn_at.is_some()
        || scan.needs_newline
        || len != want.len
        || scan.entries != want.entries
        || scan.head != want.head
    {
        return Err(format!(
            "{shown} does not end where this writer left it: {len} bytes and {} entries ending \
             at {}, where it wrote {} bytes and {} entries ending at {}",
            scan.entries, scan.head, want.len, want.entries, want.head
        ));
    }
    // Release the old descriptor's lock, then take it on the new one.
    drop(std::mem::replace(file, new));
    lock(file, path, lock_wait).map_err(|e| e.to_string())
}

/// Two writers' entries with the same parent: where a log that two writers appended to (one
/// of them ignoring the lock, such as the Python reference's) parts into two chains.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fork {
    /// The `seq` both entries claim.
    pub seq: u64,
    /// The hash of the entry both link to (`seq - 1`).
    pub parent: String,
    /// The line (from 1) and hash of the first entry linking to it: the chain that went on.
    pub first: (u64, String),
    /// The line and hash of the second: the other writer's.
    pub second: (u64, String),
}

impl std::fmt::Display for Fork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "two writers appended to this log: after the entry with hash {} it holds two \
             entries with seq {}, line {} (hash {}) and line {} (hash {}), each starting a chain \
             of its own",
            self.parent, self.seq, self.first.0, self.first.1, self.second.0, self.second.1
        )
    }
}

/// `seq`, `prev_hash` and `hash` of a line, when it has them.
fn link_of(line: &[u8]) -> Option<(u64, String, String)> {
    let text = std::str::from_utf8(line).ok()?;
    let row = crate::json::value::Value::parse(text.trim()).ok()?;
    let row = row.as_object()?;
    Some((
        row.get("seq")?.as_u64()?,
        row.get("prev_hash")?.as_str()?.to_owned(),
        row.get("hash")?.as_str()?.to_owned(),
    ))
}

/// Whether the entry that failed to verify, `failed` at line `at`, forks the chain: it links to
/// an earlier entry of the file that another entry with the same `seq` already follows. A
/// second pass over the file, made only when it does not verify.
fn find_fork(file: &mut File, failed: &[u8], at: u64) -> Option<Fork> {
    use std::io::BufRead as _;
    let (seq, parent, second) = link_of(failed)?;
    let needle = format!("\"hash\": \"{parent}\"");
    let finder = memchr::memmem::Finder::new(needle.as_bytes());
    file.seek(SeekFrom::Start(0)).ok()?;
    let mut reader = BufReader::with_capacity(1 << 20, &*file);
    let mut line = Vec::new();
    let mut parent_seen = false;
    for no in 1..at {
        line.clear();
        if reader.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        if parent_seen {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let (s, prev, hash) = link_of(&line)?;
            return (s == seq && prev == parent && hash != second).then(|| Fork {
                seq,
                parent: parent.clone(),
                first: (no, hash),
                second: (at, second.clone()),
            });
        }
        parent_seen = finder.find(&line).is_some()
            && link_of(&line).is_some_and(|(s, _, h)| h == parent && s.checked_add(1) == Some(seq));
    }
    None
}

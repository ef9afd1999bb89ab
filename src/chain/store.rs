//! Opening a log file: lock it, re-walk and check the existing chain, repair a torn tail.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::error::Error;
use super::hash::{GENESIS, SigningKey};
use super::verify::{DEFAULT_MAX_LINE_BYTES, Failure, LineError, Lines, Seen, Verifier};

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
fn lock(file: &File, path: &Path, wait: Duration) -> Result<(), Error> {
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

/// Opens (creating if needed) and locks `path`, verifies what it holds and repairs a torn tail.
pub(crate) fn open(
    path: &Path,
    key: Option<&SigningKey>,
    on_corrupt: OnCorrupt,
    lock_wait: Duration,
) -> Result<Opened, Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io_err(path))?;
    }
    let created = !path.exists();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(io_err(path))?;
    lock(&file, path, lock_wait)?;
    if created {
        sync_dir(path).map_err(io_err(path))?;
    }
    let scan = match scan(&mut file, path, key)? {
        Ok(scan) => scan,
        Err(detail) => match on_corrupt {
            OnCorrupt::Refuse => {
                return Err(Error::Corrupt {
                    path: path.to_owned(),
                    detail,
                });
            }
            OnCorrupt::StartNewChain => return start_beside(path, file, detail, lock_wait),
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
            sha256: super::hash::sha256_hex(&removed),
        });
    }
    let mut len = file.seek(SeekFrom::End(0)).map_err(io_err(path))?;
    if scan.needs_newline {
        // The last entry is whole and verifies; only its line break was lost.
        file.write_all(b"\n").map_err(io_err(path))?;
        file.sync_data().map_err(io_err(path))?;
        len += 1;
    }
    Ok(Opened {
        file,
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
) -> Result<Result<Scan, String>, Error> {
    file.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
    let mut lines = Lines::new(
        BufReader::with_capacity(1 << 20, &*file),
        DEFAULT_MAX_LINE_BYTES,
    );
    let mut v = Verifier::new(key.cloned());
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
                return Ok(Err(report.detail()));
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
        (0, _) => 0,
        (_, Some(seq)) => seq.saturating_add(1),
        (_, None) => {
            return Ok(Err(
                "the last entry's seq is not a non-negative integer".to_owned()
            ));
        }
    };
    debug_assert!(v.entries() > 0 || v.head() == GENESIS);
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
        .open(path)
        .map_err(io_err(path))?;
    lock(&file, path, lock_wait)?;
    sync_dir(path).map_err(io_err(path))?;
    Ok(Opened {
        file,
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
fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

//! Reading a log for verification: physical lines as Python's universal newlines split them,
//! with a cap on a line's length; blocks of whole lines handed to workers; the batches checked
//! on every core and their links walked in order on the reading thread.
//!
//! Uses the line checks of [`check`](super::check).

use std::io::{self, BufRead};

use super::check::{Analyzer, Chain, LineCheck, Verifier};
use super::{Failure, VerifyOptions};

/// Whole lines handed to a worker, line breaks included; the worker splits them.
pub(super) struct Batch {
    /// A reused buffer, zeroed once when made; the lines are `buf[..len]`.
    pub(super) buf: Vec<u8>,
    pub(super) len: usize,
    /// How the input ended after these lines, if it did with an error.
    pub(super) tail: Option<Tail>,
    /// Whether this is the last batch.
    pub(super) last: bool,
}

impl Batch {
    pub(super) fn data(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// An input that stopped with an error after a batch's lines.
pub(super) enum Tail {
    /// The next line is longer than the cap.
    TooLong,
    /// Reading failed.
    Unreadable(Failure),
}

const BATCH_BYTES: usize = 512 << 10;
pub(super) const READ_CHUNK: usize = 128 << 10;
/// A batch buffer's usual size; one grown for a long line is shrunk back when reused.
const BATCH_BUF: usize = BATCH_BYTES + READ_CHUNK;

/// Reads the input in blocks of whole lines, cutting each block after a line break (never
/// between the `\r` and `\n` of one) and carrying the rest over. Only the line being carried
/// is bounded by the cap, so memory stays flat.
pub(super) struct Blocks<R> {
    pub(super) reader: R,
    pub(super) carry: Vec<u8>,
    pub(super) eof: bool,
    pub(super) cap: usize,
    /// Bytes searched for a line break so far: at most about twice the input's length.
    pub(super) searched: u64,
}

impl<R: BufRead> Blocks<R> {
    pub(super) fn new(reader: R, cap: usize) -> Self {
        Self {
            reader,
            carry: Vec::new(),
            eof: false,
            cap,
            searched: 0,
        }
    }

    pub(super) fn next(&mut self, recycled: Option<Batch>) -> Batch {
        let mut b = recycled.unwrap_or_else(|| Batch {
            buf: vec![0; BATCH_BUF],
            len: 0,
            tail: None,
            last: false,
        });
        if b.buf.len() > BATCH_BUF {
            b.buf.truncate(BATCH_BUF);
            b.buf.shrink_to_fit();
        }
        let carried = self.carry.len();
        if b.buf.len() < carried + READ_CHUNK {
            b.buf.resize(carried + READ_CHUNK, 0);
        }
        b.buf[..carried].copy_from_slice(&self.carry);
        self.carry.clear();
        b.len = carried;
        b.tail = None;
        b.last = false;
        let mut want = BATCH_BYTES;
        // Where a line break may still be found: a long line's bytes are searched once, not
        // again with every chunk added to them (that made one huge line quadratic). The last
        // byte searched is searched again: a `\r` there may turn out whole.
        let mut from = 0;
        loop {
            while !self.eof && b.len < want {
                if b.buf.len() < b.len + READ_CHUNK {
                    b.buf.resize(b.len + READ_CHUNK, 0);
                }
                match self.reader.read(&mut b.buf[b.len..]) {
                    Ok(0) => self.eof = true,
                    Ok(n) => b.len += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        // The lines read so far are checked; the partial one is not.
                        b.len = cut_point(b.data(), false).unwrap_or(0);
                        b.tail = Some(Tail::Unreadable(unreadable(&e)));
                        b.last = true;
                        return b;
                    }
                }
            }
            if self.eof {
                b.last = true;
                return b;
            }
            self.searched += (b.len - from) as u64;
            match cut_point(&b.data()[from..], true).map(|cut| cut + from) {
                Some(cut) => {
                    self.carry.extend_from_slice(&b.buf[cut..b.len]);
                    b.len = cut;
                    return b;
                }
                None if b.len > self.cap => {
                    b.len = 0;
                    b.tail = Some(Tail::TooLong);
                    b.last = true;
                    return b;
                }
                // One line longer than a block: read on.
                None => {
                    from = b.len.saturating_sub(1);
                    want = b.len + READ_CHUNK;
                }
            }
        }
    }
}

/// Just past the last line break in `data` that is certainly complete: a `\r` at the very end
/// may be the first half of `\r\n`, so when more input may follow it does not count.
pub(super) fn cut_point(data: &[u8], more: bool) -> Option<usize> {
    let last = memchr::memrchr2(b'\n', b'\r', data)?;
    if more && data[last] == b'\r' && last + 1 == data.len() {
        return memchr::memrchr2(b'\n', b'\r', &data[..last]).map(|p| p + 1);
    }
    Some(last + 1)
}

/// Splits a batch into physical lines as Python's universal newlines do and checks each;
/// returns the checks and the number of lines. Line numbers are relative to the batch.
fn analyze_batch(analyzer: &mut Analyzer, batch: &Batch, cap: usize) -> (Vec<LineCheck>, u64) {
    let data = batch.data();
    // Usually the whole batch is UTF-8, checked at once; otherwise each line is.
    let text = std::str::from_utf8(data).ok();
    let mut checks = Vec::new();
    let (mut at, mut line) = (0, 0);
    while at < data.len() {
        let end = memchr::memchr2(b'\n', b'\r', &data[at..]).map_or(data.len(), |p| at + p);
        line += 1;
        // Cut at ASCII line breaks, a UTF-8 text's lines are UTF-8.
        checks.push(match text.and_then(|t| t.get(at..end)) {
            _ if end - at > cap => LineCheck::TooLong { line },
            Some(text) => analyzer.check_text(text, line),
            None => analyzer.check(&data[at..end], line),
        });
        at = match data.get(end) {
            Some(b'\r') if data.get(end + 1) == Some(&b'\n') => end + 2,
            Some(_) => end + 1,
            None => end,
        };
    }
    (checks, line)
}

/// Applies a batch's checks in order; the first failure ends verification. `base` is the
/// number of lines before the batch; it makes the batch's line numbers absolute.
fn apply_batch(
    chain: &mut Chain,
    (checks, lines): (Vec<LineCheck>, u64),
    tail: Option<Tail>,
    base: &mut u64,
    opts: &VerifyOptions,
) -> Option<Failure> {
    for check in checks {
        let applied = match check {
            LineCheck::TooLong { line } => Err(too_long(chain, line, opts)),
            check => chain.apply(check),
        };
        if let Err(f) = applied {
            return Some(match f {
                Failure::Corrupt { line, reason } => Failure::Corrupt {
                    line: line + *base,
                    reason,
                },
                Failure::InvalidUtf8 { line } => Failure::InvalidUtf8 { line: line + *base },
                other => other,
            });
        }
    }
    *base += lines;
    tail.map(|t| match t {
        Tail::TooLong => too_long(chain, *base + 1, opts),
        Tail::Unreadable(f) => f,
    })
}

/// Line `line` is longer than the limit: where, and after which entry.
fn too_long(chain: &Chain, line: u64, opts: &VerifyOptions) -> Failure {
    Failure::Corrupt {
        line,
        reason: match chain.last_seq {
            Some(seq) => format!(
                "line longer than {} bytes (the entry after seq {seq})",
                opts.max_line_bytes
            ),
            None => format!("line longer than {} bytes", opts.max_line_bytes),
        },
    }
}

pub(super) fn verify_batches_inline<R: BufRead>(
    v: &mut Verifier,
    mut batch: Batch,
    blocks: &mut Blocks<R>,
    opts: &VerifyOptions,
) -> Option<Failure> {
    let mut base = 0;
    loop {
        let checks = analyze_batch(&mut v.analyzer, &batch, opts.max_line_bytes);
        if let Some(f) = apply_batch(&mut v.chain, checks, batch.tail.take(), &mut base, opts) {
            return Some(f);
        }
        if batch.last {
            return None;
        }
        batch = blocks.next(Some(batch));
    }
}

/// Reads on this thread, splits, parses and hashes on `workers` threads, walks the links here
/// in input order. Memory stays bounded: at most `2 * workers` batches are in flight.
pub(super) fn verify_batches_parallel<R: BufRead>(
    chain: &mut Chain,
    first: Batch,
    blocks: &mut Blocks<R>,
    opts: &VerifyOptions,
    workers: usize,
) -> Option<Failure> {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, mpsc};

    let (work_tx, work_rx) = mpsc::sync_channel::<(u64, Batch)>(workers * 2);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<(u64, (Vec<LineCheck>, u64), Batch)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (work_rx, done_tx, key) = (&work_rx, done_tx.clone(), opts.key.clone());
            let cap = opts.max_line_bytes;
            scope.spawn(move || {
                let mut analyzer = Analyzer::new(key);
                loop {
                    // The lock is held only while taking a job, never while working on it.
                    let job = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok((n, batch)) = job else { break };
                    let checks = analyze_batch(&mut analyzer, &batch, cap);
                    if done_tx.send((n, checks, batch)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let mut work_tx = Some(work_tx);
        let (mut sent, mut applied, mut base) = (0u64, 0u64, 0u64);
        let mut pending = BTreeMap::new();
        let mut spare: Vec<Batch> = Vec::new();
        let mut next = Some(first);
        loop {
            // Keep the workers fed.
            while sent - applied < (workers * 2) as u64 {
                let Some(batch) = next.take() else { break };
                let last = batch.last;
                if work_tx
                    .as_ref()
                    .is_some_and(|tx| tx.send((sent, batch)).is_ok())
                {
                    sent += 1;
                }
                if !last {
                    next = Some(blocks.next(spare.pop()));
                }
            }
            if sent == applied {
                return None;
            }
            let Ok((n, checks, batch)) = done_rx.recv() else {
                return Some(Failure::Unreadable {
                    reason: "verification worker stopped".to_owned(),
                });
            };
            pending.insert(n, (checks, batch));
            while let Some((checks, mut batch)) = pending.remove(&applied) {
                applied += 1;
                let tail = batch.tail.take();
                spare.push(batch);
                if let Some(f) = apply_batch(chain, checks, tail, &mut base, opts) {
                    drop(work_tx.take()); // lets the workers finish and exit
                    return Some(f);
                }
            }
        }
    })
}

/// What a file that starts with `start` is, when it is a compressed or otherwise encoded copy
/// of a log rather than a log (no line of a log can start so): the reason to give instead of
/// the first line's parse error, saying what to do.
pub(super) fn not_a_log(start: &[u8]) -> Option<Failure> {
    let (what, how) = match start {
        [0x1f, 0x8b, ..] => ("gzip-compressed data", "decompress it first (gunzip -k)"),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => ("zstd-compressed data", "decompress it first (zstd -d)"),
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => {
            ("xz-compressed data", "decompress it first (xz -dk)")
        }
        [
            b'B',
            b'Z',
            b'h',
            b'1'..=b'9',
            0x31,
            0x41,
            0x59,
            0x26,
            0x53,
            0x59,
            ..,
        ] => ("bzip2-compressed data", "decompress it first (bunzip2 -k)"),
        [b'P', b'K', 3, 4, ..] => ("a zip archive", "extract the log from it first (unzip)"),
        [0, 0, 0xfe, 0xff, ..] | [0xff, 0xfe, 0, 0, ..] => (
            "UTF-32 text",
            "a log is UTF-8; convert it back (iconv -t UTF-8), then verify: the chain covers the \
             entries, not their bytes' encoding",
        ),
        [0xfe, 0xff, ..] | [0xff, 0xfe, ..] => (
            "UTF-16 text",
            "a log is UTF-8; convert it back (iconv -t UTF-8), then verify: the chain covers the \
             entries, not their bytes' encoding",
        ),
        _ => return None,
    };
    Some(Failure::Unreadable {
        reason: format!("{what}, not a log: {how}"),
    })
}

pub(super) fn unreadable(e: &io::Error) -> Failure {
    Failure::Unreadable {
        reason: e.to_string(),
    }
}

/// Python's `str.strip()`: Unicode white space plus the separators U+001C to U+001F.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

pub(crate) enum LineError {
    TooLong,
    Io(io::Error),
}

/// Splits a byte stream into physical lines the way Python's universal newlines do (`\n`,
/// `\r\n` and `\r` all end a line), tracking byte offsets, with a cap on a line's length.
pub(crate) struct Lines<R> {
    reader: R,
    cap: usize,
    /// Offset just past the last segment returned (its line break included).
    end: u64,
    /// Offset where the last segment returned starts.
    start: u64,
    line_no: u64,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(reader: R, cap: usize) -> Self {
        Self {
            reader,
            cap,
            end: 0,
            start: 0,
            line_no: 0,
        }
    }

    /// Appends the next segment (without its line break) to `out`; `Some(true)` if it ended
    /// with a line break, `Some(false)` if the input ended first, `None` at the end.
    pub(crate) fn next_segment(&mut self, out: &mut Vec<u8>) -> Result<Option<bool>, LineError> {
        self.start = self.end;
        self.line_no += 1;
        let mut len = 0;
        loop {
            let avail = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LineError::Io(e)),
            };
            if avail.is_empty() {
                return Ok((len > 0).then_some(false));
            }
            let found = memchr::memchr2(b'\n', b'\r', avail);
            let take = found.unwrap_or(avail.len());
            if len + take > self.cap {
                return Err(LineError::TooLong);
            }
            out.extend_from_slice(&avail[..take]);
            len += take;
            match found {
                None => {
                    self.reader.consume(take);
                    self.end += take as u64;
                }
                Some(i) => {
                    let cr = avail[i] == b'\r';
                    self.reader.consume(i + 1);
                    self.end += i as u64 + 1;
                    if cr {
                        self.swallow_lf().map_err(LineError::Io)?;
                    }
                    return Ok(Some(true));
                }
            }
        }
    }

    fn swallow_lf(&mut self) -> io::Result<()> {
        loop {
            match self.reader.fill_buf() {
                Ok(next) => {
                    if next.first() == Some(&b'\n') {
                        self.reader.consume(1);
                        self.end += 1;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn line_no(&self) -> u64 {
        self.line_no
    }

    pub(crate) fn start(&self) -> u64 {
        self.start
    }
}

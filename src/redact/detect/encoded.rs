//! Base64 and hex that decode to text: a file an agent passes on, as a `data:` URL
//! (`data:text/plain;base64,...`, OpenAI's file inputs) or as a bare value (Anthropic's and
//! Gemini's document blocks, `"data": "..."`; Bedrock's `"bytes": "..."`), a script as
//! PowerShell's `-EncodedCommand` takes one (base64 of UTF-16LE text), or a secret pasted
//! encoded. Decoded, so that what is in it is read as text is. The guard reads their text
//! beside a request's; as a detector ([`encoded_secret`]), a run whose text holds a secret or
//! a credential is reported whole (a `data:` URL from its `data:`), so that a redaction policy
//! removes it from an entry.
//!
//! A bare run is read when it is at least [`MIN_RUN`] characters; its lines may be broken
//! (`\n`, `\r\n`, or their JSON escapes) after a multiple of four characters, as MIME wraps
//! them; its padding may be left off. base64url (`-` and `_` for `+` and `/`: JWTs, Gmail's
//! `raw` messages, Python's `urlsafe_b64encode`) is read whole ([`url_runs`]). A run of hex digits only is read as hex, when it is at
//! least [`MIN_HEX_RUN`] digits. Base64 or hex of a gzip or zlib stream (a compressed file) is
//! inflated, and of a zip or tar archive (a `.zip`, a `.docx`, `.xlsx` or `.odt`, a `.tar` or
//! `.tar.gz`) its text files are read, when what they hold is text, within a budget
//! ([`Inflation`]) that one reading's levels share, so that a small stream cannot make it read
//! without end (see [`compressed`]).
//! Base64 or hex of anything else but text (an image, a PDF, a random key, a digest) is told
//! by its first bytes and left alone.
//!
//! Uses the crate's base64 and its reading of compressed files.

use std::ops::Range;
use std::sync::LazyLock;

use memchr::memmem::Finder;

mod compressed;

pub(crate) use self::compressed::Inflation;
#[cfg(feature = "server")]
pub(crate) use self::compressed::{embedded_texts, may_inflate, rtf_in, wide_strings};

/// The base64 read of a run before its whole is decoded: enough to tell text from an image
/// or a PDF.
const DATA_PROBE: usize = 4 * 1024;

/// The shortest bare run read: 15 bytes of text (`token=hunter2024`). Shorter ones are words
/// and media types (`application/json`).
const MIN_RUN: usize = 20;

/// The shortest run of hex digits read: 16 bytes of text.
const MIN_HEX_RUN: usize = 32;

/// Whether `text` may hold base64 [`encoded_texts`] reads: a `data:` URL's mark, a stretch
/// of [`MIN_RUN`] bytes that base64, its padding and escaped slashes are made of, or a run of
/// base64url.
/// For the detector's gate: most texts an entry holds have neither.
pub(super) fn may_hold(text: &[u8]) -> bool {
    next_stretch(text, 0).is_some() || MARK.find(text).is_some() || !url_runs(text).is_empty()
}

/// Every base64 or hex run in `text` whose content decodes to text: where it is (a `data:` URL
/// from `data:` to the base64's end) and its text. A JSON body's `\/` in the base64 is read as
/// `/`. A compressed stream is inflated within `inflation`.
pub(crate) fn encoded_texts(text: &str, inflation: &mut Inflation) -> Vec<(Range<usize>, String)> {
    encoded_runs(text, inflation)
        .into_iter()
        .filter(|run| !run.text.is_empty())
        .map(|run| (run.span, run.text))
        .collect()
}

/// A base64 or hex run, and what reading it found.
struct Decoded {
    /// Where it is, a `data:` URL from `data:`.
    span: Range<usize>,
    /// The text its content holds; empty when none.
    text: String,
    /// Whether its content was left unread in part ([`Inflation::unread`]).
    unread: bool,
}

/// Every base64 or hex run in `text` whose content holds text, or was left unread in part.
fn encoded_runs(text: &str, inflation: &mut Inflation) -> Vec<Decoded> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    // base64url, whose `-` and `_` split it into pieces below, first: where it holds text, it
    // is read whole and its pieces are not read again (so each level read is at most three
    // quarters of the one before); where it does not, its pieces may be standard base64.
    for run in url_runs(bytes) {
        push_text(&mut found, bytes, run.span.start, &run, inflation);
    }
    let read_whole: Vec<Range<usize>> = found.iter().map(|run| run.span.clone()).collect();
    let inside_one = |span: &Range<usize>| {
        let at = read_whole.partition_point(|whole| whole.start <= span.start);
        at > 0 && span.end <= read_whole[at - 1].end
    };
    // A `data:` URL's base64, however short.
    for at in MARK.find_iter(bytes) {
        let start = at + MARK.needle().len();
        if let Some(scheme) = data_url(bytes, start)
            && bytes.get(start).is_some_and(|b| is_b64(*b))
        {
            let run = run_at(bytes, start);
            if !inside_one(&run.span) {
                push_text(&mut found, bytes, scheme, &run, inflation);
            }
        }
    }
    // Bare runs, long enough, in the stretches that may hold one: hex digits only as hex.
    let mut from = 0;
    while let Some(stretch) = next_stretch(bytes, from) {
        from = stretch.end;
        for run in runs(bytes, stretch) {
            // A run goes on past its stretch over line breaks: the next starts after it.
            from = from.max(run.span.end);
            let at = run.span.start;
            if run.chars < MIN_RUN || data_url(bytes, at).is_some() || inside_one(&run.span) {
                continue;
            }
            if !run.hex_only {
                push_text(&mut found, bytes, at, &run, inflation);
            } else if run.chars >= MIN_HEX_RUN {
                push_hex_text(&mut found, bytes, &run, inflation);
            }
        }
    }
    found.sort_by_key(|run| run.span.start);
    found
}

/// A `data:` URL's mark before its base64.
static MARK: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b";base64,"));

/// Adds `run`'s text, reported from `from`, if it decodes to text, or to a compressed stream
/// of text.
fn push_text(
    found: &mut Vec<Decoded>,
    bytes: &[u8],
    from: usize,
    run: &Run,
    inflation: &mut Inflation,
) {
    let mut clean = cleaned(&bytes[run.span.clone()]);
    if run.url {
        clean = clean.replace('-', "+").replace('_', "/");
    }
    let probe = &clean[..clean.len().min(DATA_PROBE) & !3];
    let Some(head) = crate::base64::decode(probe) else {
        return;
    };
    let whole = |head: Vec<u8>| {
        if probe.len() == clean.len() {
            Some(head)
        } else {
            decode_unpadded(&clean)
        }
    };
    push_content(found, from..run.span.end, inflation, |inflation| {
        content_text(head, whole, inflation)
    });
}

/// Reads a run's content with `read` and adds the run when it holds text or was left unread
/// in part.
fn push_content(
    found: &mut Vec<Decoded>,
    span: Range<usize>,
    inflation: &mut Inflation,
    read: impl FnOnce(&mut Inflation) -> Option<String>,
) {
    let (text, unread) = inflation.reading(read);
    let text = text.unwrap_or_default();
    if !text.is_empty() || unread {
        found.push(Decoded { span, text, unread });
    }
}

/// What decoded content holds as text, told by `head`, its start, and decoded whole by
/// `whole` only when it may hold some: text (UTF-8 or UTF-16LE), a compressed stream of text
/// (a `.tar.gz` is a tar archive once inflated), an archive's files, or a PDF's pages.
fn content_text(
    head: Vec<u8>,
    whole: impl FnOnce(Vec<u8>) -> Option<Vec<u8>>,
    inflation: &mut Inflation,
) -> Option<String> {
    if is_text(&head) && !compressed::is_pdf(&head) {
        whole(head).map(|d| compressed::with_text_content(String::from_utf8_lossy(&d).into_owned()))
    } else if utf16le_text(&head).is_some() {
        whole(head).and_then(|d| utf16le_text(&d))
    } else if Inflation::may_open(&head) {
        // A compressed file or an archive (deflate's data is not told by its first bytes):
        // decoded whole, then opened.
        whole(head).and_then(|d| inflation.file_text(&d))
    } else {
        inflation.note_codec(&head);
        None
    }
}

/// Decoded bytes as text when they are text, in UTF-8 or UTF-16LE, told by their start.
fn text_of(bytes: &[u8]) -> Option<String> {
    if is_text(&bytes[..bytes.len().min(DATA_PROBE)]) {
        Some(String::from_utf8_lossy(bytes).into_owned())
    } else {
        utf16le_text(bytes)
    }
}

/// Decoded bytes as UTF-16LE text (as PowerShell's `-EncodedCommand` takes a script), when
/// they are: mostly characters of the first 256 (every other byte zero), no unpaired
/// surrogate but one cut at the end, no control characters but tabs and line breaks.
fn utf16le_text(bytes: &[u8]) -> Option<String> {
    let units = bytes.chunks_exact(2);
    let narrow = units.clone().filter(|unit| unit[1] == 0).count();
    if units.len() == 0 || narrow * 2 < units.len() {
        return None;
    }
    let mut text = String::with_capacity(units.len());
    let mut chars = char::decode_utf16(units.map(|unit| u16::from_le_bytes([unit[0], unit[1]])));
    while let Some(c) = chars.next() {
        match c {
            Ok('\u{feff}') if text.is_empty() => {}
            Ok(c) => text.push(c),
            Err(_) if chars.next().is_none() => break,
            Err(_) => return None,
        }
    }
    is_text(text.as_bytes()).then_some(text)
}

/// Adds hex `run`'s text if it decodes to text (a digest does not), or to a compressed file
/// or an archive of text.
fn push_hex_text(found: &mut Vec<Decoded>, bytes: &[u8], run: &Run, inflation: &mut Inflation) {
    let clean = cleaned(&bytes[run.span.clone()]);
    let digits = clean.trim_end_matches('=').as_bytes();
    let unhex = |digits: &[u8]| -> Vec<u8> {
        let nibble = |d: u8| char::from(d).to_digit(16).map_or(0, |v| v as u8);
        digits
            .chunks_exact(2)
            .map(|pair| nibble(pair[0]) << 4 | nibble(pair[1]))
            .collect()
    };
    let probe = &digits[..digits.len().min(2 * DATA_PROBE)];
    let whole = |head: Vec<u8>| {
        Some(if probe.len() == digits.len() {
            head
        } else {
            unhex(digits)
        })
    };
    push_content(found, run.span.clone(), inflation, |inflation| {
        content_text(unhex(probe), whole, inflation)
    });
}

/// A run of base64 characters: its bytes (a JSON `\/`, line breaks and padding included) and
/// how many of them are base64's own.
struct Run {
    span: Range<usize>,
    chars: usize,
    hex_only: bool,
    /// base64url's alphabet (`-` and `_` for `+` and `/`).
    url: bool,
}

/// A byte of base64's alphabet.
const B64: u8 = 1;
/// A hex digit.
const HEX: u8 = 2;
/// A byte a run's line may also hold: padding, a JSON escape's backslash. (A line break
/// ends a stretch: a wrapped run's first line is a stretch by itself, and keys or words a
/// line each are not taken for one.)
const IN_RUN: u8 = 4;
/// A byte of base64url's alphabet: letters, digits, `-` and `_`.
const IN_URL: u8 = 8;

/// Each byte's classes, one lookup a byte.
const CLASS: [u8; 256] = {
    let mut class = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' {
            class[b] = B64 | IN_RUN;
        }
        if c.is_ascii_hexdigit() {
            class[b] |= HEX;
        }
        if matches!(c, b'=' | b'\\') {
            class[b] = IN_RUN;
        }
        if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' {
            class[b] |= IN_URL;
        }
        b += 1;
    }
    class
};

fn is_b64(b: u8) -> bool {
    CLASS[usize::from(b)] & B64 != 0
}

/// The next stretch of at least [`MIN_RUN`] bytes a run's line may be made of, from `from` on,
/// whole (the bytes before `from` not looked at again). A skip search: a window of [`MIN_RUN`] bytes whose last byte cannot be in a run is
/// passed over whole, so ordinary text is looked at a few bytes in twenty.
fn next_stretch(b: &[u8], from: usize) -> Option<Range<usize>> {
    next_stretch_of(b, from, IN_RUN)
}

/// [`next_stretch`] of the bytes of class `class`.
fn next_stretch_of(b: &[u8], mut from: usize, class: u8) -> Option<Range<usize>> {
    let in_run = |at: usize| CLASS[usize::from(b[at])] & class != 0;
    // Not before `from`: what lies before it (a run read already) is not read again.
    let floor = from;
    while from + MIN_RUN <= b.len() {
        let last = from + MIN_RUN - 1;
        match (from..=last).rev().find(|&at| !in_run(at)) {
            Some(out) => from = out + 1,
            None => {
                let start = (floor..from)
                    .rev()
                    .find(|&at| !in_run(at))
                    .map_or(floor, |at| at + 1);
                let end = (from + MIN_RUN..b.len())
                    .find(|&at| !in_run(at))
                    .unwrap_or(b.len());
                return Some(start..end);
            }
        }
    }
    None
}

/// The length of a line break at the start of `b`: `\r\n`, `\n`, or their JSON escapes.
fn line_break(b: &[u8]) -> usize {
    [&b"\r\n"[..], b"\n", b"\\r\\n", b"\\n"]
        .iter()
        .find(|brk| b.starts_with(brk))
        .map_or(0, |brk| brk.len())
}

/// The runs of base64 characters in `b[within]`. A JSON escape's letter (`\n`, `\u`) starts
/// none.
fn runs(b: &[u8], within: Range<usize>) -> Vec<Run> {
    let mut out = Vec::new();
    let mut i = within.start;
    while i < within.end {
        if b[i] == b'\\' {
            i += 2;
        } else if is_b64(b[i]) {
            let run = run_at(b, i);
            i = run.span.end;
            out.push(run);
        } else {
            i += 1;
        }
    }
    out
}

/// The run that starts at `b[start]`, a base64 character: on while base64 goes on, over a `\/`,
/// and over a line break after a multiple of four characters; then its padding.
fn run_at(b: &[u8], start: usize) -> Run {
    let mut i = start;
    let mut chars = 0;
    let mut hex_only = true;
    loop {
        match b.get(i) {
            Some(&c) if is_b64(c) => {
                chars += 1;
                hex_only &= CLASS[usize::from(c)] & HEX != 0;
                i += 1;
            }
            Some(b'\\') if b.get(i + 1) == Some(&b'/') => {
                chars += 1;
                hex_only = false;
                i += 2;
            }
            Some(_) if chars % 4 == 0 => {
                let brk = line_break(&b[i..]);
                if brk > 0 && b.get(i + brk).is_some_and(|c| is_b64(*c)) {
                    i += brk;
                } else {
                    break;
                }
            }
            _ => break,
        }
    }
    i += b[i..].iter().take(2).take_while(|c| **c == b'=').count();
    Run {
        span: start..i,
        chars,
        hex_only,
        url: false,
    }
}

/// The runs of base64url (RFC 4648's URL-safe alphabet, as JWTs, Gmail's API and Python's
/// `urlsafe_b64encode` write it) in `b`: a stretch of letters, digits, `-` and `_` (its
/// padding after it) of at least [`MIN_RUN`] characters, holding a `-` or a `_`, and
/// capitals and small letters both, as base64 of ten bytes or more nearly always does (an
/// identifier in `snake_case` or `kebab-case`, or a UUID, does not).
fn url_runs(b: &[u8]) -> Vec<Run> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(stretch) = next_stretch_of(b, from, IN_URL) {
        from = stretch.end;
        let run = &b[stretch.clone()];
        if !run.iter().any(|c| matches!(c, b'-' | b'_'))
            || !run.iter().any(u8::is_ascii_uppercase)
            || !run.iter().any(u8::is_ascii_lowercase)
        {
            continue;
        }
        let padding = b[stretch.end..]
            .iter()
            .take(2)
            .take_while(|c| **c == b'=')
            .count();
        out.push(Run {
            span: stretch.start..stretch.end + padding,
            chars: run.len(),
            hex_only: false,
            url: true,
        });
    }
    out
}

/// Where the `data:` URL whose base64 starts at `start` begins, if the run is one's.
fn data_url(bytes: &[u8], start: usize) -> Option<usize> {
    let mark = MARK.needle();
    let at = start.checked_sub(mark.len())?;
    if bytes[at..start] != *mark {
        return None;
    }
    // `data:` and a media type (with its parameters) before the mark.
    let from = at.saturating_sub(128);
    let scheme = memchr::memmem::rfind(&bytes[from..at], b"data:").map(|i| from + i)?;
    let one_url = !bytes[scheme..at]
        .iter()
        .any(|b| matches!(b, b'"' | b' ' | b','));
    one_url.then_some(scheme)
}

/// A run's base64 characters alone, its padding kept.
fn cleaned(run: &[u8]) -> String {
    let mut out = String::with_capacity(run.len());
    let mut i = 0;
    while i < run.len() {
        match run[i] {
            b'\\' => {
                if run.get(i + 1) == Some(&b'/') {
                    out.push('/');
                }
                i += 2;
            }
            b'\r' | b'\n' => i += 1,
            c => {
                out.push(char::from(c));
                i += 1;
            }
        }
    }
    out
}

/// Decodes base64 whose padding may be left off; what cannot be decoded at the end (a run that
/// ran on into a word) is dropped.
fn decode_unpadded(clean: &str) -> Option<Vec<u8>> {
    let body = clean.trim_end_matches('=');
    let whole = &body[..body.len() & !3];
    let mut padded = body.to_owned();
    match body.len() % 4 {
        2 => padded.push_str("=="),
        3 => padded.push('='),
        _ => padded.truncate(whole.len()),
    }
    crate::base64::decode(&padded).or_else(|| crate::base64::decode(whole))
}

/// Whether decoded bytes are text: UTF-8 (a character cut at the end aside) with no control
/// characters but tabs and line breaks.
fn is_text(bytes: &[u8]) -> bool {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => return false,
    };
    !bytes[..valid]
        .iter()
        .any(|b| b.is_ascii_control() && !matches!(b, b'\t' | b'\n' | b'\r'))
}

/// Base64 whose text holds a secret or a credential any detector knows, read as text or as
/// text encoded again inside it, all the way down: the whole run (a `data:` URL from its
/// `data:`). A run whose content could not be read entirely (a file compressed in a way not
/// read, an encrypted one, archives nested too deep, more than the budget inflates) is taken
/// for one too: what cannot be checked is not kept.
pub(super) fn encoded_secret(text: &str, out: &mut Vec<Range<usize>>) {
    let mut inflation = Inflation::for_text(text.len());
    for run in encoded_runs(text, &mut inflation) {
        let (secret, unread) = inflation.reading(|inflation| holds_secret(run.text, inflation));
        if secret || unread || run.unread {
            out.push(run.span);
        }
    }
}

/// The detectors of secrets and credentials that read text as it is (not decoding base64,
/// hex or character references themselves).
pub(super) fn plain_secrets() -> &'static [super::Detector] {
    static PLAIN: LazyLock<Vec<super::Detector>> = LazyLock::new(|| {
        super::DETECTORS
            .iter()
            .filter(|d| super::reads_secrets_as_written(d))
            .copied()
            .collect()
    });
    &PLAIN
}

/// Whether `text`, or text encoded in it at any depth, holds a secret or a credential. Level
/// by level, one budget for all: a compressed stream inside another is not a way to make the
/// reading run on.
fn holds_secret(text: String, inflation: &mut Inflation) -> bool {
    let mut level = vec![text];
    while !level.is_empty() {
        let mut next = Vec::new();
        for text in &level {
            if !super::scan_with(plain_secrets(), text).is_empty() {
                return true;
            }
            next.extend(encoded_texts(text, inflation).into_iter().map(|(_, d)| d));
        }
        level = next;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each text found, a line each; every span checked to start where its base64 or its
    /// `data:` does.
    fn read(text: &str) -> String {
        encoded_texts(text, &mut Inflation::for_text(text.len()))
            .into_iter()
            .map(|(span, decoded)| {
                let at = &text[span];
                assert!(at.starts_with("data:") || is_b64(at.as_bytes()[0]), "{at}");
                decoded + "\n"
            })
            .collect()
    }

    #[test]
    fn data_urls_are_read_when_they_hold_text() {
        // "key=sk-proj-abc/def?" in base64 has a `/`, escaped as a JSON body may.
        let url = "data:text/plain;charset=utf-8;base64,a2V5PXNrLXByb2otYWJjL2RlZj8=";
        assert_eq!(read(url), "key=sk-proj-abc/def?\n");
        assert_eq!(
            encoded_texts(url, &mut Inflation::for_text(0))[0].0,
            0..url.len(),
            "the URL whole"
        );
        let escaped = format!(r#"{{"f": "{}"}}"#, url.replace('/', "\\/"));
        assert_eq!(read(&escaped), "key=sk-proj-abc/def?\n");
        // Two of them, and other text around; a URL's base64 is read however short.
        assert_eq!(
            read("a data:,plain then data:text/csv;base64,YSxi and data:;base64,eA=="),
            "a,b\nx\n"
        );
        // Binary content: nothing. Base64 cut short: what it holds whole.
        assert_eq!(
            read("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"),
            ""
        );
        assert_eq!(read("data:text/plain;base64,a2V5PXN"), "key\n");
        assert_eq!(read("data:text/plain;base64,"), "");
        assert_eq!(read("data:te\"xt;base64,a2V5"), "", "not one URL");
    }

    #[test]
    fn base64url_is_read_whole() {
        // A `.env` as Gmail's API carries a message's `raw`, or Python's `urlsafe_b64encode`
        // writes it: `-` and `_` for `+` and `/`, which split it for standard base64.
        let file = "Токен доступа: sk-proj-0123456789\nпароль: hunter2024\n";
        let url = crate::base64::encode(file.as_bytes())
            .replace('+', "-")
            .replace('/', "_");
        assert!(url.contains(['-', '_']), "{url}");
        for body in [
            format!(r#"{{"raw": "{url}"}}"#),
            format!(r#"{{"raw": "{}"}}"#, url.trim_end_matches('=')),
        ] {
            assert_eq!(read(&body), format!("{file}\n"), "{body}");
            let (span, _) = &encoded_texts(&body, &mut Inflation::for_text(0))[0];
            assert!(url.starts_with(&body[span.clone()]), "the whole run");
        }
        // Not base64url of text: identifiers in snake_case and kebab-case, a UUID, an id of
        // random characters; standard base64 after a word and a `_` is still read.
        for quiet in [
            "customer_account_number_field",
            "quarterly-revenue-report-final-v2",
            "123e4567-e89b-12d3-a456-426614174000",
            "V1StGXR8_Z5jdHi6B-myT0aQ",
        ] {
            assert_eq!(read(quiet), "", "{quiet}");
        }
        assert_eq!(
            read("token_T1BFTkFJX0FQSV9LRVk9c2stcHJvai0wMTIzNDU2Nzg5"),
            "OPENAI_API_KEY=sk-proj-0123456789\n"
        );
    }

    #[test]
    fn bare_base64_is_read_when_it_holds_text() {
        // "OPENAI_API_KEY=sk-proj-0123456789" as Anthropic's and Gemini's document blocks and
        // Bedrock's bytes carry a file.
        let b64 = "T1BFTkFJX0FQSV9LRVk9c2stcHJvai0wMTIzNDU2Nzg5";
        let file = "OPENAI_API_KEY=sk-proj-0123456789\n";
        for body in [
            format!(
                r#"{{"source": {{"type": "base64", "media_type": "text/plain", "data": "{b64}"}}}}"#
            ),
            format!(r#"{{"inline_data": {{"mime_type": "text/plain", "data":"{b64}"}}}}"#),
            format!(r#"{{"document": {{"format": "txt", "source": {{"bytes": "{b64}"}}}}}}"#),
            format!("decode this: {b64}, please"),
        ] {
            assert_eq!(read(&body), file, "{body}");
            let (span, _) = &encoded_texts(&body, &mut Inflation::for_text(0))[0];
            assert_eq!(&body[span.clone()], b64, "the run, not its key");
        }
        // Padding left off; padding kept.
        assert_eq!(
            read("a2V5PXNrLXByb2otYWJjL2RlZj8"),
            "key=sk-proj-abc/def?\n"
        );
        assert_eq!(read("UXVhcnRlcmx5IGZpZ3VyZXM="), "Quarterly figures\n");
        // Wrapped as MIME wraps it, in a JSON string or in plain text: read as one.
        let text = "Quarterly figures: revenue up 4% and costs flat, thanks to everyone.";
        let wrapped = "UXVhcnRlcmx5IGZpZ3VyZXM6IHJldmVudWUgdXAgNCUgYW5kIGNvc3RzIGZsYXQsIHRo\
                       YW5rcyB0byBldmVyeW9uZS4=";
        assert_eq!(read(wrapped), format!("{text}\n"));
        for brk in ["\n", "\r\n", "\\n", "\\r\\n"] {
            let split = format!("{}{brk}{}", &wrapped[..68], &wrapped[68..]);
            assert_eq!(read(&split), format!("{text}\n"), "{split}");
        }
        // A wrapped run that ends where a JSON escape follows is read once.
        let split = format!(
            "{}\n{}\\u0041ndTheRestOfTheWords",
            &wrapped[..68],
            &wrapped[68..]
        );
        assert_eq!(read(&split), format!("{text}\n"), "{split}");
    }

    #[test]
    fn utf16_text_in_base64_is_read() {
        // PowerShell's `-EncodedCommand`: base64 of the script in UTF-16LE.
        let command = "powershell -enc JABlAG4AdgA6AE8AUABFAE4AQQBJAF8AQQBQAEkAXwBLAEUAWQA9ACcAcwBrAC0AcAByAG8AagAtADAAMQAyADMANAA1ADYANwA4ADkAJwA7ACAAcAB5AHQAaABvAG4AIABhAGcAZQBuAHQALgBwAHkA";
        assert_eq!(
            read(command),
            "$env:OPENAI_API_KEY='sk-proj-0123456789'; python agent.py\n"
        );
        // With its byte order mark, which is dropped; a surrogate pair (an emoji) kept.
        assert_eq!(
            read("//50AG8AawBlAG4APQBoAHUAbgB0AGUAcgAyADAAMgA0ACAAPdgA3iAAbwBrAA=="),
            "token=hunter2024 \u{1f600} ok\n"
        );
    }

    #[test]
    fn hex_is_read_when_it_holds_text() {
        let text = "token=hunter2024-xyz\n";
        let hex = "746f6b656e3d68756e746572323032342d78797a";
        assert_eq!(read(&format!("key: {hex}, done")), text);
        assert_eq!(read(&hex.to_uppercase()), text);
        let (span, _) = &encoded_texts(&format!("[{hex}]"), &mut Inflation::for_text(0))[0];
        assert_eq!(*span, 1..1 + hex.len(), "the run");
        // Shorter than 16 bytes of text: left alone, as a short digest or an id is.
        assert_eq!(read(&hex[..30]), "");
    }

    #[test]
    fn what_is_not_base64_of_text_is_left_alone() {
        for text in [
            // Digests, words, identifiers, a key of random bytes.
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "internationalization and counterrevolutionaries",
            "ThisIsAVeryLongIdentifierName, getAccessTokenForUser",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            // An image and a binary file outside a URL.
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ] {
            assert_eq!(read(text), "", "{text}");
        }
        // Words a line each (an entry's keys, joined) are not taken for a wrapped run.
        let keys = "decision_id\ninput\nactor\nmethod\nroute\nstatus\n";
        assert!(!may_hold(keys.as_bytes()), "{keys}");
        // A JSON escape's letter does not start a run: the run starts past it.
        assert_eq!(
            read(r"\nT1BFTkFJX0FQSV9LRVk9c2stcHJvai0wMTIzNDU2Nzg5"),
            "OPENAI_API_KEY=sk-proj-0123456789\n"
        );
    }
}

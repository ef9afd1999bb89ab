//! The properties the fuzz targets check (see `fuzz/`), one function per target. Each takes
//! arbitrary bytes and panics only when a property fails: a panic anywhere below is a bug.
//!
//! Compiled for the crate's own tests, which replay the committed corpus
//! (`fuzz/corpus/<target>/`) through the same functions on every `cargo test`, and under
//! `cfg(fuzzing)`, which `cargo fuzz` sets. Not part of the public API.

use std::io::{self, Read, Write as _};

use crate::chain::hash::{GENESIS, SigningKey, write_body_node};
use crate::chain::line::{CanonScratch, canonical_entry};
use crate::evidence::summary::Summary;
use crate::json::parse::Tape;
use crate::json::value::Value;
use crate::store::file::{self, OnCorrupt};
use crate::verify::{Analyzer, VerifyOptions, verify_path, verify_reader};

/// An entry line through both parsers: neither panics; whatever the fused scanner accepts the
/// tape accepts too, with the same canonical body and the same `seq`; the line checker (which
/// picks between them) does not panic either, with or without a key.
pub fn line(data: &[u8]) {
    let _ = Analyzer::new(None).check(data, 1);
    let _ = Analyzer::new(Some(SigningKey::new(b"k".to_vec()))).check(data, 1);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut scratch = CanonScratch::default();
    let fused = canonical_entry(text, &mut scratch).map(|e| (e.seq, scratch.body_parts().concat()));
    let mut tape = Tape::default();
    let Ok(root) = tape.parse(text) else {
        assert!(
            fused.is_none(),
            "fused path accepted what the tape refuses: {text:?}"
        );
        return;
    };
    let Some((seq, fused_body)) = fused else {
        return;
    };
    let field = |k| root.get(k).expect("a field the fused path saw");
    let mut want = String::new();
    write_body_node(
        &mut want,
        field("seq"),
        field("ts"),
        field("type"),
        field("payload"),
    );
    assert_eq!(fused_body, want.as_bytes(), "bodies differ for {text:?}");
    let tape_seq = field("seq")
        .int_text()
        .map(|t| if t == "-0" { "0" } else { t })
        .and_then(|t| t.parse().ok());
    assert_eq!(tape_seq, Some(seq), "seq differs for {text:?}");
}

/// Any JSON text: parsing never panics, and canonical output is a fixed point (it parses back
/// to a value with the same canonical form).
pub fn canonical(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(value) = Value::parse(text) else {
        return;
    };
    let once = value.to_canonical();
    let again = Value::parse(&once)
        .unwrap_or_else(|e| panic!("canonical output does not parse ({e}): {once:?}"))
        .to_canonical();
    assert_eq!(
        once, again,
        "canonical form is not a fixed point for {text:?}"
    );
}

/// Any bytes as a log: verification never panics, and its verdict does not depend on how the
/// input arrives (all at once, or a few bytes per read, which moves every block boundary).
pub fn verify(data: &[u8]) {
    let opts = VerifyOptions::new();
    // A pack that starts after retention has its record checked with a seal key.
    #[cfg(feature = "ed25519")]
    let opts = match crate::chain::checkpoint::CheckpointKey::from_hex(&"5e".repeat(32)) {
        Ok(seal) => opts.seal_key(&seal.public()),
        Err(_) => opts,
    };
    let whole = verify_reader(data, "fuzz", &opts);
    let trickled = verify_reader(
        io::BufReader::with_capacity(7, Trickle(data)),
        "fuzz",
        &opts,
    );
    assert_eq!(whole.detail(), trickled.detail());
    assert_eq!(whole.entries(), trickled.entries());
    let keyed = VerifyOptions::new()
        .key(SigningKey::new(b"fuzz".to_vec()))
        .expected_head(GENESIS)
        .expected_entries(1);
    let _ = verify_reader(data, "fuzz", &keyed).detail();
}

/// Any bytes as an existing log file, opened for appending: opening never panics; when it
/// succeeds the file is what was there (cut only at a torn last line, or given back its lost
/// line break) and verifies with the entry count and head that opening reported.
pub fn resume(data: &[u8]) {
    let Ok(dir) = TempDir::new() else { return };
    let path = dir.0.join("log.jsonl");
    let written = std::fs::File::create(&path).and_then(|mut f| f.write_all(data));
    if written.is_err() {
        return;
    }
    let Ok(opened) = file::open(
        &path,
        None,
        OnCorrupt::Refuse,
        std::time::Duration::ZERO,
        0o600,
    ) else {
        return;
    };
    let (entries, head) = (opened.entries, opened.head.clone());
    drop(opened);
    let after = std::fs::read(&path).expect("the log is readable after opening");
    assert!(
        data.starts_with(&after) || after == [data, b"\n"].concat(),
        "opening changed more than a torn tail: {data:?} became {after:?}"
    );
    let report = verify_path(&path, &VerifyOptions::new());
    assert!(report.is_ok(), "{}", report.detail());
    assert_eq!(report.entries(), entries);
    assert_eq!(report.head(), head);
}

/// A reader that gives at most three bytes per read.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(3).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// A directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "acttrace-fuzz-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What `acttrace show` and `stats` read: a whole file, as a summary and its tables. Nothing
/// panics (whatever the cells' widths), no line longer than the cap is read, and the tables
/// carry no raw character that could steer a terminal.
pub fn summary(data: &[u8]) {
    let Ok(summary) = Summary::from_reader_with_limit(data, 1 << 16) else {
        return;
    };
    for table in [
        summary.decisions_table(),
        summary.models_table(),
        summary.failed_calls_table(),
        summary.other_reviews_table(),
        summary.totals(),
    ] {
        assert!(
            !table
                .chars()
                .any(|c| c != '\n' && (c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c))),
            "a raw control character in {table:?}"
        );
    }
}

/// A certificate revocation list an auditor gives (`--tsa-crl`), DER or PEM: reading it never
/// panics, and one that reads prints its issuer.
#[cfg(feature = "rfc3161")]
pub fn crl(data: &[u8]) {
    use crate::evidence::timestamp::Crl;
    if let Ok(crl) = Crl::from_der(data) {
        assert!(!format!("{crl:?}").is_empty());
        assert_eq!(crl.as_der(), data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Crl::from_pem(text);
    }
}

/// Any text through the detectors and the default redaction policy, as an entry's string
/// value: nothing panics, every finding is a span of the text on character boundaries, and
/// the redacted payload is an entry's payload still (its canonical JSON parses back to it).
pub fn redact(data: &[u8]) {
    use crate::redact::{RedactionPolicy, detect};
    let text = String::from_utf8_lossy(data);
    check_findings(&text, &detect::scan(&text));
    let mut payload = crate::json::Map::new();
    payload.insert("note", text.as_ref());
    payload.insert(text.as_ref(), 1);
    RedactionPolicy::default().redact(&mut payload);
    let value = Value::Object(payload);
    let canonical = crate::json::canonical_json(&value);
    let back = Value::parse(&canonical).expect("a redacted payload's JSON parses");
    assert_eq!(crate::json::canonical_json(&back), canonical);
}

/// Any bytes as a request the guard reads: its first line the URI (`/` if it is not one), the
/// rest the body, sent as UTF-16 when the line names it. Decoding the request (percent
/// escapes, JSON strings, base64 and hex, gzip, zlib, zip and tar, PDFs and compound files
/// inside them or as raw bytes, XML's and RTF's text content, wide text, character
/// references and quoted-printable) and a
/// header's value never panics nor grows without bound, and the
/// detectors' findings over what it shows are spans of it.
#[cfg(feature = "server")]
pub fn guard(data: &[u8]) {
    use crate::layer::guard::decode::{header_text, request_views};
    use crate::redact::detect;
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let uri = std::str::from_utf8(head)
        .ok()
        .and_then(|h| http::Uri::try_from(h).ok())
        .unwrap_or_else(|| http::Uri::from_static("/"));
    let mut request = http::Request::post(uri);
    if head.windows(6).any(|w| w == b"utf-16") {
        request = request.header("content-type", "text/plain; charset=utf-16");
    }
    let Ok(request) = request.body(()) else {
        return;
    };
    let (parts, ()) = request.into_parts();
    let views = request_views(&parts, body);
    let (header, _) = header_text(body);
    // Compressed streams inside one another do not make the reading grow without end: every
    // level of them shares one budget.
    let bound = 64 * data.len() + (1 << 20);
    assert!(
        views.extra.len() <= bound && header.len() <= bound,
        "{} and {} bytes read from {}",
        views.extra.len(),
        header.len(),
        data.len()
    );
    for text in [views.main.as_ref(), views.extra.as_str(), header.as_str()] {
        check_findings(text, &detect::scan(text));
    }
}

/// Every finding is a non-empty span of `text` on character boundaries.
fn check_findings(text: &str, found: &[crate::redact::detect::Finding]) {
    for f in found {
        assert!(
            f.span.start < f.span.end && text.get(f.span.clone()).is_some(),
            "{} at {:?} of a text of {} bytes",
            f.category,
            f.span,
            text.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::chain::line::{CanonScratch, canonical_entry};
    use std::path::Path;

    #[test]
    fn mutated_lines_never_panic_and_paths_agree() {
        let lines = [
            r#"{"seq": 12, "ts": "2026-01-01T00:00:00+00:00", "type": "llm_call", "payload": {"decision_id": "acc1", "usage": {"input_tokens": 1200, "output_tokens": 300}, "cost": "0.00475 USD", "latency_ms": 12.5, "x": [1, -0, "é\n\u0001", null, true]}, "prev_hash": "p", "hash": "h", "sig": ""}"#,
            r#"{"payload": {"b": {"d": [], "c": {}}, "a": 1e-7}, "seq": 0, "ts": "t", "type": "y", "prev_hash": "p", "hash": "h"}"#,
            r#"{"seq": 3, "ts": "t", "type": "n", "payload": {"z": [1.0, -0.0, 1e16, 1234567890123456789012, 1.5e300, 1e400, -1E-5, 0.1, 100.0, 0.00012, 1.25e-05, NaN, -Infinity, Infinity], "y": 1, "x": 2, "xa": 3}, "prev_hash": "p", "hash": "h"}"#,
        ];
        let bytes: &[u8] = b"\"\\{}[],: x0-.eE\x01";
        let check = |text: &str| super::line(text.as_bytes());
        for line in lines {
            assert!(
                canonical_entry(line, &mut CanonScratch::default()).is_some(),
                "the fused path takes {line}"
            );
            for cut in 0..=line.len() {
                if line.is_char_boundary(cut) {
                    check(&line[..cut]);
                }
            }
            for at in 0..line.len() {
                for &b in bytes {
                    let mut v = line.as_bytes().to_vec();
                    v[at] = b;
                    if let Ok(text) = std::str::from_utf8(&v) {
                        check(text);
                    }
                }
            }
        }
    }

    /// Replays every committed corpus input (and every crash found and fixed, kept under
    /// `fuzz/regressions/`) through its target's checks.
    #[test]
    fn the_fuzz_corpus_replays_cleanly() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        #[cfg_attr(not(feature = "rfc3161"), allow(unused_mut))]
        let mut targets: Vec<(&str, fn(&[u8]))> = vec![
            ("line", super::line),
            ("canonical", super::canonical),
            ("verify", super::verify),
            ("resume", super::resume),
            ("summary", super::summary),
        ];
        targets.push(("redact", super::redact));
        #[cfg(feature = "server")]
        targets.push(("guard", super::guard));
        #[cfg(feature = "rfc3161")]
        targets.push(("crl", super::crl));
        let mut total = 0;
        for (name, check) in targets {
            let mut seen = 0;
            for dir in [
                root.join("corpus").join(name),
                root.join("regressions").join(name),
            ] {
                let Ok(files) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for file in files {
                    let path = file.expect("corpus entry").path();
                    let data = std::fs::read(&path).expect("corpus file");
                    if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
                        std::panic::resume_unwind(Box::new(format!(
                            "{}: {:?}",
                            path.display(),
                            panic.downcast_ref::<String>()
                        )));
                    }
                    seen += 1;
                }
            }
            assert!(seen > 0, "no corpus for the {name} target");
            total += seen;
        }
        assert!(total >= 100, "only {total} corpus inputs");
    }
}

//! The verifier's own parts: lines, blocks, the Python-exact helpers.

use super::read::{Blocks, cut_point};
use super::*;

/// A line of 16 MiB is searched for its end about once, not once per chunk read (which made
/// a 256 MiB line take 12 s), and is handed on whole.
#[test]
fn a_long_line_is_searched_once() {
    let mut input = vec![b'x'; 16 << 20];
    input.extend_from_slice(b"\r\nnext\n");
    let mut blocks = Blocks::new(&input[..], 64 << 20);
    let first = blocks.next(None);
    assert_eq!(first.data(), &input[..]);
    assert!(
        blocks.searched < 2 * input.len() as u64,
        "searched {} bytes for {}",
        blocks.searched,
        input.len()
    );
}

fn segments(input: &[u8]) -> Vec<(Vec<u8>, bool)> {
    let mut lines = Lines::new(input, 1024);
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Ok(Some(t)) = lines.next_segment(&mut buf) {
        out.push((std::mem::take(&mut buf), t));
    }
    out
}

#[test]
fn universal_newlines() {
    assert_eq!(
        segments(b"a\nb\r\nc\rd"),
        vec![
            (b"a".to_vec(), true),
            (b"b".to_vec(), true),
            (b"c".to_vec(), true),
            (b"d".to_vec(), false)
        ]
    );
    assert!(segments(b"").is_empty());
    assert_eq!(segments(b"\n"), vec![(Vec::new(), true)]);
}

#[test]
fn block_cut_points() {
    assert_eq!(cut_point(b"a\nb", true), Some(2));
    assert_eq!(cut_point(b"a\r\nb", true), Some(3));
    assert_eq!(
        cut_point(b"a\nb\r", true),
        Some(2),
        "a final \\r may be half of \\r\\n"
    );
    assert_eq!(cut_point(b"a\nb\r", false), Some(4));
    assert_eq!(cut_point(b"a\rb", true), Some(2));
    assert_eq!(cut_point(b"abc", true), None);
}

/// Many blocks of CRLF lines with a bad line far in: the verdict names the right line.
#[test]
fn line_numbers_survive_block_boundaries() {
    let good = "   \r\n".repeat(200_000); // blank lines: 1 MiB+, several blocks
    for bad_at in [1usize, 87_382, 200_001] {
        let mut text = String::new();
        for i in 1..=200_001 {
            text.push_str(if i == bad_at { "{oops}\r\n" } else { "   \r\n" });
        }
        let r = verify_reader(text.as_bytes(), "x", &VerifyOptions::new());
        let Some(Failure::Corrupt { line, .. }) = r.failure() else {
            panic!("{r}")
        };
        assert_eq!(*line, bad_at as u64);
    }
    assert!(verify_reader(good.as_bytes(), "x", &VerifyOptions::new()).is_ok());
}

#[test]
fn a_line_longer_than_the_cap_across_blocks() {
    let mut text = "\n".repeat(10);
    text.push_str(&"x".repeat(3 << 20));
    let r = verify_reader(
        text.as_bytes(),
        "x",
        &VerifyOptions::new().max_line_bytes(1 << 20),
    );
    assert_eq!(
        r.failure(),
        Some(&Failure::Corrupt {
            line: 11,
            reason: "line longer than 1048576 bytes".to_owned()
        })
    );
}

#[test]
fn line_cap() {
    let mut lines = Lines::new(&b"0123456789\n"[..], 5);
    assert!(matches!(
        lines.next_segment(&mut Vec::new()),
        Err(LineError::TooLong)
    ));
}

#[test]
fn python_strip_set() {
    assert_eq!(
        py_strip("\u{1c}\u{1f}\u{a0}\u{3000} x \u{2028}\u{85}\u{b}"),
        "x"
    );
    assert_eq!(py_strip("\u{feff}x"), "\u{feff}x");
}

/// Copies of a log compressed, archived or re-encoded are named for what they are, with what
/// to do, instead of the first line's parse error; a log, and a log whose first line is broken
/// in another way, are read as before.
#[test]
fn copies_that_are_not_logs_say_what_they_are() {
    let line = r#"{"seq": 0}"#;
    let cases: [(&[u8], &str); 8] = [
        (
            &[0x1f, 0x8b, 0x08, 0x00],
            "gzip-compressed data, not a log: decompress",
        ),
        (&[0x28, 0xb5, 0x2f, 0xfd, 0x04], "zstd-compressed data"),
        (b"\xfd7zXZ\x00\x00", "xz-compressed data"),
        (b"BZh91AY&SY\x01", "bzip2-compressed data"),
        (b"PK\x03\x04\x14\x00", "a zip archive, not a log: extract"),
        (b"\xff\xfe{\x00", "UTF-16 text, not a log: a log is UTF-8"),
        (b"\xfe\xff\x00{", "UTF-16 text"),
        (b"\xff\xfe\x00\x00{\x00\x00\x00", "UTF-32 text"),
    ];
    for (start, says) in cases {
        let data = [start, line.as_bytes()].concat();
        let r = verify_reader(&data[..], "copy", &VerifyOptions::new());
        match r.failure() {
            Some(Failure::Unreadable { reason }) => assert!(reason.starts_with(says), "{reason}"),
            other => panic!("{start:?}: {other:?}"),
        }
        assert!(r.to_string().starts_with("cannot read copy: "), "{r}");
    }
    for not_magic in [&b"BZh9 not bzip2"[..], b"PK and more", b"\x1f"] {
        let r = verify_reader(not_magic, "x", &VerifyOptions::new());
        assert!(
            !matches!(r.failure(), Some(Failure::Unreadable { .. })),
            "{not_magic:?}: {r}"
        );
    }
    let dir = std::env::temp_dir();
    let r = verify_path(&dir, &VerifyOptions::new());
    assert!(r.to_string().contains("a directory, not a log file"), "{r}");
}

/// A pack header's `after` with a count no chain reaches (one that would overflow the count
/// at the first entry) is refused as a mismatch, and verifying it never panics; a sane one
/// starts the chain there.
#[test]
fn a_pack_start_past_any_count_is_refused() {
    use crate::chain::entry_hash;
    use crate::json::Map;
    let head = "ab".repeat(32);
    let line = |seq: u64| {
        let ts = "2026-12-08T00:00:00.000000+00:00";
        let hash = entry_hash(&head, seq, ts, "note", &Map::new());
        format!(
            r#"{{"seq": {seq}, "ts": "{ts}", "type": "note", "payload": {{}}, "prev_hash": "{head}", "hash": "{hash}", "sig": ""}}"#
        )
    };
    let pack = |entries: u64| {
        format!(
            "{{\"_meta\": {{\"after\": {{\"entries\": {entries}, \"head\": \"{head}\"}}}}}}\n{}\n",
            line(entries)
        )
    };
    let r = verify_reader(pack(7).as_bytes(), "pack", &VerifyOptions::new());
    assert!(r.is_ok(), "{r}");
    assert_eq!((r.entries(), r.starts_after()), (8, 7));
    for entries in [u64::MAX, u64::MAX - 1, 1 << 62] {
        let r = verify_reader(pack(entries).as_bytes(), "pack", &VerifyOptions::new());
        assert_eq!(r.class(), "pack_mismatch", "{entries}: {r}");
    }
}

/// The line limit holds for every line, not only for one longer than a block: a chain of 3,000
/// entries (several blocks, so read on the worker threads too) with one entry of about 2 KB
/// fails at that line with a limit under its length, on one thread and on two, and verifies
/// with a limit above it.
#[test]
fn every_line_is_held_to_the_limit() {
    use crate::chain::entry_hash;
    use crate::json::{Map, Value};
    let ts = "2026-12-08T00:00:00.000000+00:00";
    let (mut text, mut head) = (String::new(), crate::chain::hash::GENESIS.to_owned());
    for seq in 0..3_000u64 {
        let mut payload = Map::new();
        payload.insert(
            "note",
            if seq == 1_500 {
                "x".repeat(2_000)
            } else {
                "y".repeat(150)
            },
        );
        let hash = entry_hash(&head, seq, ts, "note", &payload);
        let payload = Value::Object(payload).to_line_json();
        text += &format!(
            r#"{{"seq": {seq}, "ts": "{ts}", "type": "note", "payload": {payload}, "prev_hash": "{head}", "hash": "{hash}", "sig": ""}}"#
        );
        text.push('\n');
        head = hash;
    }
    assert!(
        text.len() > 2 * (512 << 10),
        "{} bytes: more than one block",
        text.len()
    );
    for threads in [1, 2] {
        let opts = VerifyOptions::new().threads(threads);
        let r = verify_reader(text.as_bytes(), "x", &opts.clone().max_line_bytes(2_000));
        assert_eq!(
            r.failure(),
            Some(&Failure::Corrupt {
                line: 1_501,
                reason: "line longer than 2000 bytes (the entry after seq 1499)".to_owned()
            }),
            "{threads} threads"
        );
        let r = verify_reader(text.as_bytes(), "x", &opts.max_line_bytes(4_000));
        assert!(r.is_ok(), "{threads} threads: {r}");
        assert_eq!(r.entries(), 3_000);
    }
}

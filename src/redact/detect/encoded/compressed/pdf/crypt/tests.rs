//! Encrypted PDFs made by an independent writer (pypdf, `tests/pdf/make.py`), in each of the
//! standard security handler's revisions, read as a reader shows them.

use super::super::super::Inflation;
use super::*;

/// A fixture's bytes.
fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/pdf/{name}.pdf", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The text read from `file`, and why anything was left unread.
fn read(file: &[u8]) -> (String, Option<String>) {
    let mut inflation = Inflation::for_text(file.len());
    let text = inflation.file_text(file).unwrap_or_default();
    (text, inflation.unread())
}

const PAGE_KEY: &str = "OPENAI_API_KEY=sk-proj-Tq8vN2xLr5Wb7Kc3Hd9Fg1Jm4";
const NOTE_KEY: &str = "ANTHROPIC_API_KEY=sk-ant-api03-Yh7Gq2Lw9Xc4Vb1Nm6Kd3Pt8Rs5";

#[test]
fn documents_without_a_user_password_are_read_in_every_revision() {
    // pypdf's, and qpdf's (another writer: the annotation in an object stream, the
    // cross-reference table a stream, as Acrobat and Word write them).
    for name in [
        "rc4-40",
        "rc4-128",
        "aes-128",
        "aes-256-r5",
        "aes-256",
        "qpdf-rc4-128",
        "qpdf-aes-128",
        "qpdf-aes-256",
    ] {
        let file = fixture(name);
        assert!(
            memchr::memmem::find(&file, b"sk-proj-").is_none(),
            "{name}: the fixture is encrypted"
        );
        let (text, unread) = read(&file);
        assert_eq!(unread, None, "{name}");
        assert!(
            text.contains("Account statement, December"),
            "{name}: {text:?}"
        );
        // The page's key, which a kerning array splits, and an annotation's (a string).
        assert!(text.contains(PAGE_KEY), "{name}: {text:?}");
        assert!(text.contains(NOTE_KEY), "{name}: {text:?}");
    }
    for name in ["clean-aes-256", "clean-rc4-128"] {
        let (text, unread) = read(&fixture(name));
        assert_eq!(unread, None, "{name}");
        assert!(
            text.contains("no activity") && text.contains("Checked."),
            "{name}"
        );
    }
}

#[test]
fn a_document_that_asks_for_a_password_or_whose_handler_is_unknown_stays_unread() {
    // A user password is asked for by AES-256's hash, and by RC4's and AES-128's check value.
    for name in [
        "user-password",
        "qpdf-rc4-user-password",
        "qpdf-aes-128-user-password",
    ] {
        let (text, unread) = read(&fixture(name));
        assert!(
            unread.is_some_and(|why| why.contains("encrypted")),
            "{name}"
        );
        assert!(!text.contains("sk-proj-"), "{name}");
    }
    // Another handler's name, a dictionary cut short, a reference to nothing, and the key's
    // entry spelled with a name's escapes: each is noted, none read as plain.
    let file = fixture("aes-128");
    for (from, to) in [
        (&b"/Standard"[..], &b"/Adobe.PubSec"[..]),
        (b"/StdCF", b"/Other"),
        (b"/Encrypt", b"/Encr#79pt"),
    ] {
        let at = memchr::memmem::find(&file, from).expect("in the fixture");
        let mut changed = file.clone();
        changed.splice(at..at + from.len(), to.iter().copied());
        let (text, unread) = read(&changed);
        let expected_open = from == b"/Encrypt";
        if expected_open {
            // An escaped name is the same name: opened and read.
            assert_eq!(unread, None);
            assert!(text.contains(PAGE_KEY));
        } else {
            assert!(
                unread.is_some_and(|why| why.contains("encrypted")),
                "{to:?}"
            );
        }
    }
    let at = memchr::memmem::find(&file, b"/Encrypt").expect("trailer");
    for cut in [at + 9, at + 12] {
        let mut changed = file[..cut].to_vec();
        changed.extend_from_slice(b"\n%%EOF\n");
        let (_, unread) = read(&changed);
        assert!(unread.is_some(), "cut at {cut}");
    }
}

#[test]
fn rc4_matches_the_rfc_6229_stream() {
    // RFC 6229, 40-bit key 0x0102030405: the key stream's first 16 bytes.
    let stream = rc4(&[1, 2, 3, 4, 5], &[0; 16]);
    assert_eq!(
        stream,
        [
            0xb2, 0x39, 0x63, 0x05, 0xf0, 0x3d, 0xc0, 0x27, 0xcc, 0xc3, 0x52, 0x4a, 0x0a, 0x11,
            0x18, 0xa8
        ]
    );
}

#[test]
fn dictionaries_are_read_past_strings_that_hold_delimiters() {
    let dict = br"<< /O (a\)b>>c\\) /Sub << /X [1 (>>) <41>] >> /U <4142> /P -1028 >>";
    assert_eq!(
        string(entry(dict, b"/O").expect("O")),
        Some(br"a)b>>c\".to_vec())
    );
    assert_eq!(string(entry(dict, b"/U").expect("U")), Some(b"AB".to_vec()));
    assert_eq!(entry(dict, b"/P").and_then(integer), Some(-1028));
    assert_eq!(
        entry(dict, b"/X"),
        None,
        "a nested entry is not the dictionary's"
    );
    assert_eq!(
        headers(b"1 0 obj\n<<>>\nendobj\n 12 3 obj"),
        [((1, 0), 7), ((12, 3), 29)]
    );
    assert_eq!(unescape(b"/Encr#79pt"), b"/Encrypt");
}

#[test]
fn a_reading_opens_a_bounded_number_of_hardened_documents() {
    // Revision 6 hardens its key with about two milliseconds of hashing: a reading opens
    // `MAX_HARDENED` such documents; the next is noted unread, not opened.
    let file = fixture("aes-256");
    let mut inflation = Inflation::for_text(file.len() * 100);
    for _ in 0..MAX_HARDENED {
        let text = inflation.file_text(&file).unwrap_or_default();
        assert!(text.contains(PAGE_KEY));
    }
    assert_eq!(inflation.unread(), None);
    let text = inflation.file_text(&file).unwrap_or_default();
    assert!(!text.contains(PAGE_KEY));
    assert!(
        inflation
            .unread()
            .is_some_and(|why| why.contains("more than 8 PDFs encrypted with AES-256")),
        "{:?}",
        inflation.unread()
    );
    // Revision 5's key is one hash: not counted.
    let mut inflation = Inflation::for_text(file.len() * 100);
    for _ in 0..=MAX_HARDENED {
        let text = inflation
            .file_text(&fixture("aes-256-r5"))
            .unwrap_or_default();
        assert!(text.contains(PAGE_KEY));
    }
    assert_eq!(inflation.unread(), None);
}

#[test]
fn an_encryption_dictionary_planted_in_a_plain_file_hides_none_of_its_text() {
    // A plain statement and, in comments after its end (where no reader looks; pypdf and qpdf
    // read it as not encrypted), another file's encryption dictionary and identifier, which
    // open with no password: its streams and strings, in the clear, are still read.
    let decoy = fixture("planted-encryption");
    assert!(
        matches!(security(&decoy, &mut 1), Security::Open(_)),
        "it opens"
    );
    let (text, _) = read(&decoy);
    assert!(text.contains(PAGE_KEY), "{text:?}");
    assert!(text.contains(NOTE_KEY), "{text:?}");
}

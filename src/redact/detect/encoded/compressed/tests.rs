//! The reading of compressed files and archives, and its budget.

use super::super::encoded_texts;
use super::*;

/// Each text found, a line each.
pub(super) fn read(text: &str) -> String {
    encoded_texts(text, &mut Inflation::for_text(text.len()))
        .into_iter()
        .map(|(_, decoded)| decoded + "\n")
        .collect()
}

/// A gzip member of `data` as `gzip` writes one, with the file's name in its header (the
/// trailer's CRC is not read, so left zero).
pub(super) fn gzip(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3];
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.extend(miniz_oxide::deflate::compress_to_vec(data, 6));
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

#[test]
fn compressed_text_in_base64_is_read() {
    let file = "OPENAI_API_KEY=sk-proj-0123456789\nDEBUG=1\n";
    let gz = crate::base64::encode(&gzip(".env", file.as_bytes()));
    let zlib = crate::base64::encode(&miniz_oxide::deflate::compress_to_vec_zlib(
        file.as_bytes(),
        9,
    ));
    for body in [
        format!(
            r#"{{"source": {{"type": "base64", "media_type": "application/gzip", "data": "{gz}"}}}}"#
        ),
        format!("data:application/gzip;base64,{gz}"),
        format!(r#"{{"bytes": "{zlib}"}}"#),
    ] {
        assert_eq!(read(&body), format!("{file}\n"), "{body}");
    }
    // Its text in UTF-16LE; a stream cut short: what it holds whole.
    let wide: Vec<u8> = file.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let gz = crate::base64::encode(&gzip("env.txt", &wide));
    assert_eq!(read(&gz), format!("{file}\n"));
    let long: String = (0..400)
        .map(|i| {
            format!(
                "Line {i}: revenue rose {}% while costs stayed flat.\n",
                i % 7
            )
        })
        .collect();
    let gz = gzip("report.txt", long.as_bytes());
    let cut = crate::base64::encode(&gz[..gz.len() / 2]);
    let seen = read(&cut);
    assert!(
        seen.len() > long.len() / 4 && long.starts_with(&seen[..seen.len() - 1]),
        "{} bytes read",
        seen.len()
    );
    // Compressed, but not text (random bytes), and not compressed though it starts as
    // zlib does: nothing.
    let noise: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let gz = crate::base64::encode(&gzip("noise.bin", &noise));
    assert_eq!(read(&gz), "");
    let mut fake = vec![0x78, 0x9c];
    fake.extend_from_slice(&noise);
    assert_eq!(read(&crate::base64::encode(&fake)), "");
}

#[test]
fn inflating_stops_at_the_budget_and_says_so() {
    // 20 MB of one letter compress to about 20 KB: a bomb.
    let bomb = crate::base64::encode(&gzip("a.txt", &vec![b'a'; 20 << 20]));
    let body = format!(r#"{{"data": "{bomb}"}}"#);
    let mut inflation = Inflation::for_text(body.len());
    let budget = INFLATE_FLOOR + INFLATE_RATIO * body.len();
    let found = encoded_texts(&body, &mut inflation);
    assert!(inflation.cut());
    assert_eq!(found[0].1.len(), budget, "read up to the budget");
    // Room to spare: not cut.
    let report: String = (0..2000)
        .map(|i| {
            format!(
                "Line {i}: revenue rose {}% while costs stayed flat.\n",
                i % 7
            )
        })
        .collect();
    let small = crate::base64::encode(&gzip("a.txt", report.as_bytes()));
    let mut inflation = Inflation::for_text(small.len());
    assert!(
        encoded_texts(&small, &mut inflation)[0].1 == report,
        "read whole"
    );
    assert!(!inflation.cut());
    // Bombs inside a stream (its text a thousand copies of one, which compress to
    // nothing): every level shares one budget, however many streams a level holds.
    let inner = crate::base64::encode(&gzip("a.txt", &vec![b'a'; 1 << 20]));
    let outer = crate::base64::encode(&gzip("b.txt", format!("{inner} ").repeat(1000).as_bytes()));
    let mut inflation = Inflation::for_text(outer.len());
    let budget = INFLATE_FLOOR + INFLATE_RATIO * outer.len();
    let mut level = encoded_texts(&outer, &mut inflation);
    let mut total = 0;
    while !level.is_empty() {
        total += level.iter().map(|(_, t)| t.len()).sum::<usize>();
        level = level
            .iter()
            .flat_map(|(_, t)| encoded_texts(t, &mut inflation))
            .collect();
    }
    assert!(inflation.cut());
    assert!(
        total <= budget,
        "{total} read, against a budget of {budget}"
    );
}

/// A zip archive of `files` (name, content, deflated?) as a writer lays one out: local
/// headers and data, the central directory, its end (CRCs are not read, so left zero).
pub(super) fn zip(files: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let (mut out, mut directory) = (Vec::new(), Vec::new());
    let le16 = |v: usize| (v as u16).to_le_bytes();
    let le32 = |v: usize| (v as u32).to_le_bytes();
    for (name, data, deflate) in files {
        let stored = if *deflate {
            miniz_oxide::deflate::compress_to_vec(data, 6)
        } else {
            data.to_vec()
        };
        let method = if *deflate { 8 } else { 0 };
        let offset = out.len();
        out.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00");
        out.extend_from_slice(&le16(method));
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&le32(stored.len()));
        out.extend_from_slice(&le32(data.len()));
        out.extend_from_slice(&le16(name.len()));
        out.extend_from_slice(&le16(0));
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&stored);
        directory.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00");
        directory.extend_from_slice(&le16(method));
        directory.extend_from_slice(&[0; 8]);
        directory.extend_from_slice(&le32(stored.len()));
        directory.extend_from_slice(&le32(data.len()));
        directory.extend_from_slice(&le16(name.len()));
        directory.extend_from_slice(&[0; 12]);
        directory.extend_from_slice(&le32(offset));
        directory.extend_from_slice(name.as_bytes());
    }
    let at = out.len();
    out.extend_from_slice(&directory);
    out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00");
    out.extend_from_slice(&le16(files.len()));
    out.extend_from_slice(&le16(files.len()));
    out.extend_from_slice(&le32(directory.len()));
    out.extend_from_slice(&le32(at));
    out.extend_from_slice(&le16(0));
    out
}

/// A tar archive of `files` (name, content) as `tar` lays one out: a header of 512 bytes
/// (its checksum right) and the data padded to 512, a file each, then two blocks of zeros.
pub(super) fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        header[100..107].copy_from_slice(b"0000644");
        header[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        header[136..147].copy_from_slice(b"15044343400");
        header[148..156].copy_from_slice(b"        ");
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

#[test]
fn hex_of_a_compressed_file_is_read() {
    let file = "OPENAI_API_KEY=sk-proj-0123456789\n";
    let hex: String = gzip("a", file.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(read(&format!("dump: {hex}.")), format!("{file}\n"));
}

#[cfg(feature = "server")]
#[test]
fn compressed_files_in_raw_bytes_are_found() {
    let env = b"OPENAI_API_KEY=sk-proj-0123456789\n";
    let mut body = b"--b\r\nContent-Type: application/gzip\r\n\r\n".to_vec();
    body.extend(gzip(".env", env));
    body.extend_from_slice(b"\r\n--b\r\n\r\n");
    body.extend(zip(&[("a.txt", b"token=hunter2024-xyz", true)]));
    body.extend_from_slice(b"\r\n--b--\r\n");
    let found = embedded_texts(&body, &mut Inflation::for_text(body.len()));
    assert_eq!(
        found,
        [
            "OPENAI_API_KEY=sk-proj-0123456789\n",
            "token=hunter2024-xyz\n"
        ]
    );
    // Each of a tar's headers holds its signature, and each file of a zip archive its
    // own: an archive is read once, from where it starts, not again from each of them.
    let line = "Line: revenue rose 4% in the quarter, costs flat.\n".repeat(60);
    let names: Vec<String> = (0..20).map(|i| format!("notes-{i}.txt")).collect();
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), line.as_bytes()))
        .collect();
    let zipped: Vec<(&str, &[u8], bool)> = files.iter().map(|&(n, d)| (n, d, true)).collect();
    for archive in [tar(&files), zip(&zipped)] {
        let mut inflation = Inflation::for_text(archive.len());
        let found = embedded_texts(&archive, &mut inflation);
        let want = format!("{line}\n").repeat(20);
        assert!(
            found.len() == 1 && found[0] == want,
            "{} texts, {:?} bytes against {}",
            found.len(),
            found.iter().map(String::len).collect::<Vec<_>>(),
            want.len()
        );
        assert_eq!(inflation.unread(), None);
    }
    // A `.env.gz` stored in a `.zip`, the `.zip` stored in a `.tar`: read once, with the
    // archive that holds it, not again from its own signature.
    let env = b"OPENAI_API_KEY=sk-proj-0123456789\n";
    let zipped = zip(&[(".env.gz", &gzip(".env", env), false)]);
    let mut inflation = Inflation::for_text(zipped.len());
    assert_eq!(
        embedded_texts(&zipped, &mut inflation),
        ["OPENAI_API_KEY=sk-proj-0123456789\n\n"]
    );
    let tarred = tar(&[("bundle.zip", &zipped)]);
    let mut inflation = Inflation::for_text(tarred.len());
    assert_eq!(
        embedded_texts(&tarred, &mut inflation),
        ["OPENAI_API_KEY=sk-proj-0123456789\n\n\n"]
    );
    // Signatures by the thousand, as random bytes may hold them: a few are looked at.
    let noise = b"PK\x03\x04\x1f\x8b\x08ustar".repeat(10_000);
    let mut inflation = Inflation::for_text(noise.len());
    assert!(embedded_texts(&noise, &mut inflation).is_empty());
}

/// The spans `encoded_secret` finds in `text`, as text.
fn secret_runs(text: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    super::super::encoded_secret(text, &mut spans);
    spans.into_iter().map(|span| &text[span]).collect()
}

#[test]
fn content_left_unread_is_taken_for_a_secret() {
    // In an entry's string, beside text read whole: an `.env.xz`, a bomb, and a gzip
    // member inside seven others. None of them can be checked; each is found whole.
    let mut xz = b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46\x02\x00\x21\x01".to_vec();
    xz.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
    let xz = crate::base64::encode(&xz);
    let bomb = crate::base64::encode(&gzip("a.txt", &vec![b'a'; 20 << 20]));
    let mut deep = b"Quarterly figures: revenue up 4%.".to_vec();
    for _ in 0..8 {
        deep = gzip("", &deep);
    }
    let deep = crate::base64::encode(&deep);
    let report = crate::base64::encode(&gzip("r.txt", b"Quarterly figures: revenue up 4%."));
    for unread in [&xz, &bomb, &deep] {
        let text = format!(r#"{{"report": "{report}", "file": "{unread}"}}"#);
        assert_eq!(secret_runs(&text), [unread.as_str()]);
    }
    // A stream that holds another that cannot be read: the outer run is found.
    let outer = crate::base64::encode(&gzip("notes.txt", format!("attached: {xz}").as_bytes()));
    assert_eq!(secret_runs(&outer), [outer.as_str()]);
    assert_eq!(secret_runs(&report), Vec::<&str>::new());
}

#[cfg(feature = "server")]
#[test]
fn a_compressed_file_is_told_at_a_glance() {
    let report = "Quarterly figures: revenue up 4%.\n".repeat(20);
    let gz = gzip("r.txt", report.as_bytes());
    let zlib = miniz_oxide::deflate::compress_to_vec_zlib(report.as_bytes(), 6);
    let hex: String = gz.iter().map(|b| format!("{b:02x}")).collect();
    for body in [
        gz.clone(),
        format!(r#"{{"data": "{}"}}"#, crate::base64::encode(&gz)).into_bytes(),
        format!(r#"{{"data": "{}"}}"#, crate::base64::encode(&zlib)).into_bytes(),
        format!("dump: {hex}").into_bytes(),
        // A compound file (an Outlook message, whose attachment may be an archive).
        format!(
            r#"{{"data": "{}"}}"#,
            crate::base64::encode(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0\0\0\0\0\0\0")
        )
        .into_bytes(),
    ] {
        assert!(may_inflate(&body), "{}", String::from_utf8_lossy(&body));
    }
    for body in [
        r#"{"applicant":"A-17","amount":25000,"notes":"steady employment, no defaults"}"#,
        r#"{"pageNumber": 2, "typeAlias": "messageFormat", "createdAt": "2026-12-07"}"#,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl",
    ] {
        assert!(!may_inflate(body.as_bytes()), "{body}");
    }
}

#[test]
fn files_compressed_otherwise_are_noted_unread() {
    // An `.env.xz` as a document block: not read, and the reading says so.
    let mut xz = b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46\x02\x00\x21\x01".to_vec();
    xz.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
    let body = format!(r#"{{"data": "{}"}}"#, crate::base64::encode(&xz));
    let mut inflation = Inflation::for_text(body.len());
    assert!(encoded_texts(&body, &mut inflation).is_empty());
    assert_eq!(
        inflation.unread().as_deref(),
        Some("a file in it is compressed with xz, which the guard does not read")
    );
    // Text, an image, a gzip file read whole: nothing unread.
    for quiet in [
        crate::base64::encode(b"Quarterly figures: revenue up 4%, costs flat."),
        crate::base64::encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"),
        crate::base64::encode(&gzip("a", b"Quarterly figures: revenue up 4%.")),
    ] {
        let mut inflation = Inflation::for_text(quiet.len());
        encoded_texts(&quiet, &mut inflation);
        assert_eq!(inflation.unread(), None, "{quiet}");
    }
}

#[cfg(feature = "server")]
#[test]
fn files_compressed_otherwise_in_raw_bytes_are_noted_unread() {
    let mut body = b"--b\r\nContent-Type: application/x-bzip2\r\n\r\nBZh91AY&SY".to_vec();
    body.extend_from_slice(b"\x12\x34\r\n--b--\r\n");
    let mut inflation = Inflation::for_text(body.len());
    assert!(embedded_texts(&body, &mut inflation).is_empty());
    assert!(inflation.unread().is_some_and(|why| why.contains("bzip2")));
    // zstd's short signature counts only as the body's start.
    let mut inflation = Inflation::for_text(10);
    embedded_texts(b"x\x28\xb5\x2f\xfd", &mut inflation);
    assert_eq!(inflation.unread(), None);
    embedded_texts(b"\x28\xb5\x2f\xfd\x00", &mut inflation);
    assert!(inflation.unread().is_some_and(|why| why.contains("zstd")));
}

//! The text content of marked-up files, read beside their text as it is written: XML (the
//! parts of a `.docx`, `.xlsx`, `.pptx`, `.odt`) and RTF. Both let a writer split a line of
//! text wherever formatting, an edit session or a spelling mark changes (Word's runs, RTF's
//! groups), and so a key in two pieces with markup between them; their text content joins
//! the pieces again.
//!
//! Uses `memchr`.

/// A file's text, and when it is marked up its text content too, on lines after it: XML's
/// (a `.docx`'s body, a sheet's shared strings) as [`xml_text`] reads it, RTF's as
/// [`rtf_text`] does.
pub(in crate::redact::detect::encoded) fn with_text_content(mut file: String) -> String {
    let start = file.trim_start_matches('\u{feff}').trim_start();
    let content = if start.starts_with("{\\rtf") {
        rtf_text(start)
    } else if start.starts_with('<') {
        xml_text(start)
    } else {
        return file;
    };
    file.push('\n');
    file.push_str(&content);
    file
}

/// The text content of XML, its tags taken out: the text of one paragraph's runs joined as
/// a reader sees it (Word splits a paragraph into runs wherever formatting, an edit session
/// or a spelling mark changes, and so may split a key in two: `<w:t>sk-proj-</w:t></w:r>
/// <w:r><w:t>...`), a line break where a paragraph, a cell, a row or a line ends (so that
/// text in two cells is not read as one), a tab for a tab.
fn xml_text(xml: &str) -> String {
    // Elements whose end ends a line of text: paragraphs and headings (Word, PowerPoint,
    // OpenDocument, HTML), a sheet's strings, cells and rows, list items, line breaks.
    const BREAKS: [&str; 14] = [
        "w:p", "a:p", "text:p", "text:h", "p", "si", "c", "row", "td", "tr", "li", "div", "w:br",
        "br",
    ];
    let mut out = String::with_capacity(xml.len() / 2);
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or_default();
        if name == "w:tab" {
            out.push('\t');
        } else if (tag.starts_with('/') || tag.ends_with('/')) && BREAKS.contains(&name) {
            out.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// The text content of the RTF in `text` (a body that is an RTF file, or a part of an upload
/// that is one), from where it starts; `None` when it holds none.
#[cfg(feature = "server")]
pub(crate) fn rtf_in(text: &str) -> Option<String> {
    // A look at each `{` (a JSON body has a few) costs less than a substring search.
    let bytes = text.as_bytes();
    let at = memchr::memchr_iter(b'{', bytes).find(|&at| bytes[at..].starts_with(b"{\\rtf"))?;
    Some(rtf_text(&text[at..]))
}

/// The text content of RTF: control words and groups taken out, a line break for a paragraph,
/// a line, a cell or a row, a tab for a tab, `\'hh` read as the byte it names (as Latin-1)
/// and `\uN` as the character it names (the fallback after it skipped), groups that hold no
/// text (fonts, colours, styles, pictures, embedded objects, `\*` destinations) passed over.
fn rtf_text(rtf: &str) -> String {
    // Destinations whose group holds no text a reader sees.
    const SKIPPED: [&str; 13] = [
        "fonttbl",
        "colortbl",
        "stylesheet",
        "listtable",
        "listoverridetable",
        "rsidtbl",
        "pict",
        "object",
        "themedata",
        "colorschememapping",
        "datastore",
        "latentstyles",
        "generator",
    ];
    let bytes = rtf.as_bytes();
    let mut out = String::with_capacity(rtf.len() / 2);
    let mut depth = 0usize;
    // The depth of the group being passed over, if one is.
    let mut skipping: Option<usize> = None;
    // Characters still to skip after a `\uN` (its fallback), and how many each skips (`\ucN`,
    // one unless a writer says otherwise; taken for the rest of the file, not per group).
    let mut fallback = 0usize;
    let mut per_unicode = 1usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        match b {
            b'{' => {
                depth += 1;
                if skipping.is_none() && bytes[i..].starts_with(b"\\*") {
                    skipping = Some(depth);
                }
            }
            b'}' => {
                if skipping == Some(depth) {
                    skipping = None;
                }
                depth = depth.saturating_sub(1);
            }
            b'\r' | b'\n' => {}
            b'\\' => {
                let Some(&next) = bytes.get(i) else { break };
                if next.is_ascii_alphabetic() {
                    let word_end = bytes[i..]
                        .iter()
                        .position(|b| !b.is_ascii_alphabetic())
                        .map_or(bytes.len(), |n| i + n);
                    let word = &rtf[i..word_end];
                    let digits = bytes[word_end..]
                        .iter()
                        .enumerate()
                        .take_while(|&(k, b)| b.is_ascii_digit() || (k == 0 && *b == b'-'))
                        .count();
                    let param: Option<i32> = rtf[word_end..word_end + digits].parse().ok();
                    i = word_end + digits;
                    if bytes.get(i) == Some(&b' ') {
                        i += 1;
                    }
                    if skipping.is_some() {
                        continue;
                    }
                    match word {
                        _ if SKIPPED.contains(&word) => skipping = Some(depth),
                        "par" | "line" | "sect" | "page" | "row" | "cell" => out.push('\n'),
                        "tab" => out.push('\t'),
                        // At most four: a fallback longer than any writer makes would hide text.
                        "uc" => {
                            per_unicode =
                                param.map_or(1, |n| usize::try_from(n).unwrap_or(0).min(4))
                        }
                        "u" => {
                            let code = param.map_or(0, |p| if p < 0 { p + 65536 } else { p });
                            out.extend(u32::try_from(code).ok().and_then(char::from_u32));
                            fallback = per_unicode;
                        }
                        _ => {}
                    }
                    continue;
                }
                i += 1;
                let c = match next {
                    b'\'' => {
                        let hex = rtf
                            .get(i..i + 2)
                            .and_then(|h| u8::from_str_radix(h, 16).ok());
                        i += 2;
                        hex.map(char::from)
                    }
                    b'\\' | b'{' | b'}' => Some(char::from(next)),
                    b'~' => Some(' '),
                    b'_' => Some('-'),
                    _ => None,
                };
                if let Some(c) = c.filter(|_| skipping.is_none()) {
                    if fallback > 0 {
                        fallback -= 1;
                    } else {
                        out.push(c);
                    }
                }
            }
            _ if skipping.is_some() => {}
            _ if fallback > 0 => fallback -= 1,
            _ => {
                // The rest of a run of plain text, up to the next markup.
                let end = bytes[i..]
                    .iter()
                    .position(|b| matches!(b, b'{' | b'}' | b'\\' | b'\r' | b'\n'))
                    .map_or(bytes.len(), |n| i + n);
                // From bytes: a skipped fallback or a broken `\'` escape may have stopped
                // inside a character.
                out.push_str(&String::from_utf8_lossy(&bytes[i - 1..end]));
                i = end;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::read;
    use super::super::tests::zip as zip_of;
    use super::*;

    #[test]
    fn the_text_of_xml_is_read_with_a_paragraphs_runs_joined() {
        // A key Word split into three runs (an edit session, a spelling mark); two cells of a
        // table; a tab.
        let document = r#"<?xml version="1.0"?><w:document><w:body><w:p><w:r><w:t xml:space="preserve">Key: </w:t></w:r><w:proofErr w:type="spellStart"/><w:r><w:t>sk-proj-</w:t></w:r><w:r w:rsidR="00C1"><w:rPr><w:b/></w:rPr><w:t>abcdefghij</w:t></w:r><w:r><w:t>klmnop1234</w:t></w:r><w:proofErr w:type="spellEnd"/></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>1234</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>5678</w:t></w:r></w:p></w:tc></w:tr></w:tbl><w:p><w:r><w:t>a</w:t><w:tab/><w:t>b</w:t></w:r></w:p></w:body></w:document>"#;
        let text = xml_text(document);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.contains(&"Key: sk-proj-abcdefghijklmnop1234"),
            "{text:?}"
        );
        assert!(
            lines.contains(&"1234") && lines.contains(&"5678"),
            "{text:?}"
        );
        assert!(lines.contains(&"a\tb"), "{text:?}");
        // In a `.docx` sent as a file input.
        let docx = zip_of(&[("word/document.xml", document.as_bytes(), true)]);
        let seen = read(&format!(
            r#"{{"file_data": "data:application/vnd.openxmlformats-officedocument.wordprocessingml.document;base64,{}"}}"#,
            crate::base64::encode(&docx)
        ));
        assert!(seen.contains("Key: sk-proj-abcdefghijklmnop1234"), "{seen}");
    }

    #[test]
    fn the_text_of_rtf_is_read_with_its_groups_joined() {
        // As Word writes RTF: tables of fonts and colours, a key split over two groups by an
        // edit session's mark, an accented letter, a Unicode character with its fallback, a
        // picture's data.
        let rtf = r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\froman Times New Roman;}}{\colortbl;\red0\green0\blue0;}
{\*\generator Riched20 10.0;}\pard Caf\'e9 notes\par
{\rtlch\fcs1 \insrsid5061357 Key: sk-proj-}{\rtlch\fcs1 \insrsid9830 abcdefghijklmnop1234}\par
caf\u233\'e9 ok\tab x\par
{\pict\pngblip 89504e470d0a1a0a}}";
        let text = rtf_text(rtf);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.contains(&"Key: sk-proj-abcdefghijklmnop1234"),
            "{text:?}"
        );
        assert!(lines.contains(&"Café notes"), "{text:?}");
        assert!(lines.contains(&"café ok\tx"), "{text:?}");
        // `\uc2`: each character's fallback is two long; `\uc0`: none.
        assert_eq!(rtf_text(r"\uc2 a\u233 xyb\uc0 \u233 c"), "aébéc");
        assert_eq!(rtf_text(r"\uc999 \u233 ????sk-proj"), "ésk-proj");
        // A fallback or an escape that stops inside a character does not cut it.
        assert_eq!(rtf_text(r"\u233éa \'aéb"), "é\u{fffd}a \u{fffd}b");
        assert!(
            !text.contains("Times") && !text.contains("Riched") && !text.contains("89504e"),
            "{text:?}"
        );
        // An RTF file sent as a file input.
        let input = format!(
            r#"{{"file_data": "data:application/rtf;base64,{}"}}"#,
            crate::base64::encode(rtf.as_bytes())
        );
        assert!(read(&input).contains("Key: sk-proj-abcdefghijklmnop1234"));
    }
}

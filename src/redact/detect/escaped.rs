//! Text escaped as HTML, XML and e-mail escape it, decoded: character references
//! (`&#115;k-proj-...` in decimal, `&#x73;` in hexadecimal, `&amp;`, `&lowbar;` and the other
//! names HTML gives ASCII's punctuation), as a page an agent fetched or a tool's XML carries
//! them; and quoted-printable (RFC 2045: `=3D` for `=`, `=C3=A9` for `é`, and a soft line break,
//! `=` at a line's end, where a long line is cut, and so a long key in two), as an e-mail
//! carries its text, in a text that holds a soft line break. A secret so escaped is found in
//! the text decoded, and its span mapped back to the escaped text, to be redacted there; the
//! guard reads the decoded text too.
//!
//! Uses `memchr`.

use std::ops::Range;

/// Text with its escapes decoded, and where each escape was, so that a span of the decoded
/// text maps back to the text it came from.
pub(crate) struct Unescaped {
    pub(crate) text: String,
    /// Each escape: where what it stands for starts in `text`, its length (none for a soft
    /// line break), and the escape's span in the escaped text; in order.
    escapes: Vec<(usize, usize, Range<usize>)>,
}

impl Unescaped {
    /// `text` decoded, when it holds an escape.
    pub(crate) fn of(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        // Quoted-printable is read only where a soft line break shows it.
        let quoted = memchr::memchr_iter(b'=', bytes)
            .any(|at| matches!(bytes[at + 1..], [b'\n', ..] | [b'\r', b'\n', ..]));
        if !quoted && memchr::memchr(b'&', bytes).is_none() {
            return None;
        }
        let mut out = Self {
            text: String::new(),
            escapes: Vec::new(),
        };
        let mut copied = 0;
        for at in memchr::memchr2_iter(b'&', b'=', bytes) {
            if at < copied || (bytes[at] == b'=' && !quoted) {
                continue;
            }
            // Decoded apart first: an `&` or `=` that is no escape copies nothing (a text of
            // them by the thousand is read in one pass).
            let mut decoded = String::new();
            let len = match bytes[at] {
                b'&' => reference(&bytes[at..]).map(|(c, len)| {
                    decoded.push(c);
                    len
                }),
                _ => quoted_printable(&bytes[at..], &mut decoded),
            };
            let Some(len) = len else {
                continue;
            };
            out.text.push_str(&text[copied..at]);
            out.escapes
                .push((out.text.len(), decoded.len(), at..at + len));
            out.text.push_str(&decoded);
            copied = at + len;
        }
        if out.escapes.is_empty() {
            return None;
        }
        out.text.push_str(&text[copied..]);
        Some(out)
    }

    /// Whether `span` of the decoded text holds what an escape stands for, or a soft line
    /// break within it.
    fn touches_an_escape(&self, span: &Range<usize>) -> bool {
        let first = self.escapes.partition_point(|r| r.0 + r.1 <= span.start);
        self.escapes.get(first).is_some_and(|r| r.0 < span.end)
    }

    /// The span of the escaped text that `span` of the decoded text came from (the whole of an
    /// escape it starts or ends in).
    fn source(&self, span: &Range<usize>) -> Range<usize> {
        // The last escape whose decoded text starts at or before the span's start, and the
        // last that starts before its end.
        let start = match self.escapes.partition_point(|r| r.0 <= span.start) {
            0 => span.start,
            i => match &self.escapes[i - 1] {
                (at, len, from) if span.start < at + len => from.start,
                (at, len, from) => from.end + (span.start - at - len),
            },
        };
        let end = match self.escapes.partition_point(|r| r.0 < span.end) {
            0 => span.end,
            i => match &self.escapes[i - 1] {
                (at, len, from) if span.end <= at + len => from.end,
                (at, len, from) => from.end + (span.end - at - len),
            },
        };
        start..end
    }
}

/// The character a reference at the start of `bytes` stands for, and the reference's length:
/// `&#` and decimal digits, `&#x` and hexadecimal ones, or a name of [`NAMES`], then `;`.
fn reference(bytes: &[u8]) -> Option<(char, usize)> {
    let end = bytes.iter().take(12).position(|&b| b == b';')?;
    let body = &bytes[1..end];
    let c = match body {
        [b'#', b'x' | b'X', hex @ ..] if !hex.is_empty() => {
            u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
        }
        [b'#', digits @ ..] if !digits.is_empty() => std::str::from_utf8(digits).ok()?.parse().ok(),
        name => NAMES
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|&(_, c)| u32::from(c)),
    }?;
    let c = char::from_u32(c).filter(|&c| c != '\0')?;
    Some((c, end + 1))
}

/// Adds what the quoted-printable escape at the start of `bytes` stands for to `out` (nothing
/// for a soft line break; the bytes of a run of `=XX` escapes, as UTF-8), and gives its length.
fn quoted_printable(bytes: &[u8], out: &mut String) -> Option<usize> {
    match bytes {
        [b'=', b'\n', ..] => return Some(2),
        [b'=', b'\r', b'\n', ..] => return Some(3),
        _ => {}
    }
    let hex = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
    let mut decoded = Vec::new();
    let mut at = 0;
    while let [b'=', high, low, ..] = bytes[at..] {
        let (Some(high), Some(low)) = (hex(high), hex(low)) else {
            break;
        };
        decoded.push(high << 4 | low);
        at += 3;
    }
    if decoded.is_empty() {
        return None;
    }
    out.push_str(&String::from_utf8_lossy(&decoded));
    Some(at)
}

/// The named references of HTML for ASCII's punctuation (a key or a password holds no other
/// characters), and the no-break space.
const NAMES: [(&str, char); 36] = [
    ("amp", '&'),
    ("AMP", '&'),
    ("lt", '<'),
    ("LT", '<'),
    ("gt", '>'),
    ("GT", '>'),
    ("quot", '"'),
    ("QUOT", '"'),
    ("apos", '\''),
    ("nbsp", ' '),
    ("excl", '!'),
    ("num", '#'),
    ("dollar", '$'),
    ("percnt", '%'),
    ("lpar", '('),
    ("rpar", ')'),
    ("ast", '*'),
    ("plus", '+'),
    ("comma", ','),
    ("period", '.'),
    ("sol", '/'),
    ("colon", ':'),
    ("semi", ';'),
    ("equals", '='),
    ("quest", '?'),
    ("commat", '@'),
    ("lsqb", '['),
    ("bsol", '\\'),
    ("rsqb", ']'),
    ("Hat", '^'),
    ("lowbar", '_'),
    ("grave", '`'),
    ("lcub", '{'),
    ("verbar", '|'),
    ("rcub", '}'),
    ("Tab", '\t'),
];

/// A secret or a credential written with escapes: found in the decoded text (as a key, an
/// assignment, or base64 holding one), and its span in the escaped text, when an escape is
/// part of it (one found without them is the other detectors').
pub(super) fn escaped_secret(text: &str, out: &mut Vec<Range<usize>>) {
    let Some(unescaped) = Unescaped::of(text) else {
        return;
    };
    let mut spans: Vec<Range<usize>> =
        super::scan_with(super::encoded::plain_secrets(), &unescaped.text)
            .into_iter()
            .map(|f| f.span)
            .collect();
    super::encoded::encoded_secret(&unescaped.text, &mut spans);
    out.extend(
        spans
            .iter()
            .filter(|span| unescaped.touches_an_escape(span))
            .map(|span| unescaped.source(span)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_decoded_and_spans_map_back() {
        let text = "key: &#115;&#x6B;-proj&#45;abc &amp; x &bogus; &#0; &#;";
        let un = Unescaped::of(text).expect("references");
        assert_eq!(un.text, "key: sk-proj-abc & x &bogus; &#0; &#;");
        // "sk-proj-abc" in the decoded text is "&#115;&#x6B;-proj&#45;abc" in the escaped.
        let at = un.text.find("sk-proj-abc").unwrap();
        let span = at..at + "sk-proj-abc".len();
        assert!(un.touches_an_escape(&span));
        assert_eq!(&text[un.source(&span)], "&#115;&#x6B;-proj&#45;abc");
        // Within: "proj" maps to itself; a span ending in a reference takes it whole.
        let at = un.text.find("proj").unwrap();
        assert_eq!(&text[un.source(&(at..at + 5))], "proj&#45;");
        assert!(!un.touches_an_escape(&(at..at + 4)));
        let x = un.text.find(" x ").unwrap();
        assert_eq!(&text[un.source(&(x..x + 3))], " x ");
        assert!(Unescaped::of("AT&T; a & b; &unknown;").is_none());
        // Ampersands by the hundred thousand that are no references are read in one pass.
        let many = format!("{}&amp;", "&".repeat(200_000));
        assert_eq!(Unescaped::of(&many).map(|u| u.text.len()), Some(200_001));
    }

    #[test]
    fn a_secret_written_with_references_is_found_where_it_is_written() {
        let key = "sk-proj-abcdefghijklmnop1234";
        let decimal: String = key.bytes().map(|b| format!("&#{b};")).collect();
        let mixed = key.replace('-', "&#x2d;");
        for escaped in [decimal, mixed] {
            let text = format!("<p>Deploy with {escaped} today &amp; tomorrow</p>");
            let mut spans = Vec::new();
            escaped_secret(&text, &mut spans);
            assert_eq!(spans.len(), 1, "{text}");
            assert_eq!(&text[spans[0].clone()], escaped);
        }
        // An assignment whose value holds a reference; a key written plainly is left to the
        // other detectors.
        let text = "password=&quot;Tr0ub4dor&amp;3xyz&quot; and sk-proj-abcdefghijklmnop1234";
        let mut spans = Vec::new();
        escaped_secret(text, &mut spans);
        assert_eq!(spans.len(), 1, "{spans:?}");
        assert!(
            text[spans[0].clone()].contains("Tr0ub4dor&amp;3xyz"),
            "{spans:?}"
        );
        let mut spans = Vec::new();
        escaped_secret("Fish &amp; chips, 4 &lt; 5", &mut spans);
        assert!(spans.is_empty());
    }

    #[test]
    fn quoted_printable_is_decoded_where_a_soft_line_break_shows_it() {
        // An e-mail's text: a key cut by a soft line break, `=3D` for `=`, UTF-8 escaped.
        let mail = "Caf=C3=A9 notes: OPENAI_API_KEY=3Dsk-pr=\r\noj-abcdefghijklmnop1234 =\r\nok";
        let un = Unescaped::of(mail).expect("escapes");
        assert_eq!(
            un.text,
            "Café notes: OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234 ok"
        );
        let mut spans = Vec::new();
        escaped_secret(mail, &mut spans);
        assert_eq!(spans.len(), 1, "{spans:?}");
        assert_eq!(&mail[spans[0].clone()], "sk-pr=\r\noj-abcdefghijklmnop1234");
        // Without a soft line break, `=` is left as it is written.
        let plain = "a=3Db and x=20";
        assert!(Unescaped::of(plain).is_none());
        // A span across a soft line break touches it; one beside it does not.
        let at = un.text.find("sk-proj").unwrap();
        assert!(un.touches_an_escape(&(at..at + 7)));
        assert!(!un.touches_an_escape(&(at + 6..at + 12)));
    }
}

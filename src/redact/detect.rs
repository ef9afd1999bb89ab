//! Detectors for secrets and personal data in text.
//!
//! Each detector has a category (`openai_key`, `email`, …), a group (`secret`, `credential`,
//! `pii`, …) and a severity, and reports where in the text it fired. They are hand-written
//! scanners, linear in the text, with no backtracking. Findings name the category, never the
//! value.
//!
//! ```
//! use acttrace::redact::detect;
//!
//! let found = detect::scan("mail alice@example.com, key sk-proj-abcdefghijklmnopqrstuvwx");
//! let cats: Vec<_> = found.iter().map(|f| f.category).collect();
//! assert_eq!(cats, ["email", "openai_key"]);
//! assert!(detect::scan("cost 0.004750000 USD, hash 4f98840b471811ab916b01387768273cf938cda5045f07743fd0ac953d0d8230").is_empty());
//! ```

use std::ops::Range;

/// What a detector looks for.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Detector {
    /// The specific kind, e.g. `aws_access_key`.
    pub category: &'static str,
    /// The family: `secret`, `credential`, `pii`, `financial`, `gov_id`, `special_category`.
    pub group: &'static str,
    /// `info`, `warning` or `critical`.
    pub severity: &'static str,
    find: fn(&str, &mut Vec<Range<usize>>),
    /// A necessary condition for `find` to match, checked on the text's [`Profile`] first: a
    /// detector whose gate fails is not run. Always met for detectors of your own.
    gate: Gate,
}

/// A detector's gate, as data where it can be (a minimum length and digit count, bytes that
/// must all occur), checked inline for every detector, and a further condition only for the
/// few detectors that need one.
#[derive(Debug, Clone, Copy)]
struct Gate {
    min_len: usize,
    min_digits: usize,
    /// The bytes that must all occur, as a set (see [`Pass`]).
    bytes: [u64; 4],
    more: Option<fn(&Profile<'_>) -> bool>,
}

impl Gate {
    const OPEN: Self = Self {
        min_len: 0,
        min_digits: 0,
        bytes: [0; 4],
        more: None,
    };

    /// A gate needing at least `min_len` bytes, all of `bytes`.
    const fn new(min_len: usize, bytes: &[u8]) -> Self {
        let mut set = [0u64; 4];
        let mut i = 0;
        while i < bytes.len() {
            set[(bytes[i] >> 6) as usize] |= 1 << (bytes[i] & 63);
            i += 1;
        }
        Self {
            min_len,
            bytes: set,
            ..Self::OPEN
        }
    }

    const fn digits(self, min_digits: usize) -> Self {
        Self { min_digits, ..self }
    }

    const fn and(self, more: fn(&Profile<'_>) -> bool) -> Self {
        Self {
            more: Some(more),
            ..self
        }
    }

    fn lets_through(&self, p: &Profile<'_>) -> bool {
        let present = &p.pass.present;
        p.len() >= self.min_len
            && p.digits() >= self.min_digits
            && (0..4).all(|i| present[i] & self.bytes[i] == self.bytes[i])
            && self.more.is_none_or(|more| more(p))
    }
}

impl Detector {
    /// A detector of your own: `find` pushes the byte range of every match in the text it is
    /// given. Keep it linear in the text: it runs on every string of every entry.
    pub const fn new(
        category: &'static str,
        group: &'static str,
        severity: &'static str,
        find: fn(&str, &mut Vec<Range<usize>>),
    ) -> Self {
        Self {
            category,
            group,
            severity,
            find,
            gate: Gate::OPEN,
        }
    }
}

/// What one pass over a text tells about it: which bytes occur in it, how many of them are
/// digits, and its length; and, counted only when a gate asks, a few telling pairs (a dash
/// between digits, a colon between hex digits, `::`, an IBAN's `DE89`).
///
/// Every built-in detector needs certain bytes (an `@` for an e-mail address, `sk-` for an
/// OpenAI key, thirteen digits for a card number) and a minimum length; its gate checks that on
/// the profile, so most detectors are skipped on most texts without being run. A gate only
/// ever rules out texts the detector cannot match: `scan` finds exactly what running every
/// detector would (a unit test checks both ways agree).
#[derive(Debug, Clone)]
pub(crate) struct Profile<'t> {
    text: &'t [u8],
    pass: Pass,
    /// Counted on first use, from the text: most gates never need them.
    digit_dash_digit: std::cell::OnceCell<usize>,
    hex_colon_hex: std::cell::OnceCell<(usize, bool)>,
}

/// What the one pass over a text finds: which bytes occur, and how many are digits. Kept apart
/// from the text so that a text scanned by several sets of detectors (the guard's policies)
/// is passed over once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pass {
    present: [u64; 4],
    digits: usize,
}

impl Pass {
    pub(crate) fn over(text: &str) -> Self {
        let mut present = [0u64; 4];
        let mut digits = 0;
        for &b in text.as_bytes() {
            present[usize::from(b >> 6)] |= 1 << (b & 63);
            digits += usize::from(b.is_ascii_digit());
        }
        Self { present, digits }
    }
}

impl<'t> Profile<'t> {
    /// The profile of `text`, whose pass was made before.
    fn with(text: &'t str, pass: Pass) -> Self {
        Self {
            text: text.as_bytes(),
            pass,
            digit_dash_digit: std::cell::OnceCell::new(),
            hex_colon_hex: std::cell::OnceCell::new(),
        }
    }

    /// How often a dash stands between two digits (`1-2`: SSNs, dashed phone numbers).
    fn digit_dash_digit(&self) -> usize {
        *self.digit_dash_digit.get_or_init(|| {
            let b = self.text;
            memchr::memchr_iter(b'-', b)
                .filter(|&i| {
                    i > 0
                        && b[i - 1].is_ascii_digit()
                        && b.get(i + 1).is_some_and(u8::is_ascii_digit)
                })
                .count()
        })
    }

    /// How often a colon stands between two hex digits (`f:0`: IPv6 groups), and whether
    /// there is a `::` (compressed IPv6).
    fn hex_colon_hex(&self) -> (usize, bool) {
        *self.hex_colon_hex.get_or_init(|| {
            let b = self.text;
            let (mut n, mut double) = (0, false);
            for i in memchr::memchr_iter(b':', b) {
                let next = b.get(i + 1).copied().unwrap_or(0);
                double |= next == b':';
                n += usize::from(i > 0 && b[i - 1].is_ascii_hexdigit() && next.is_ascii_hexdigit());
            }
            (n, double)
        })
    }

    /// Two upper-case letters then two digits (`DE89`: an IBAN's start).
    fn country_check(&self) -> bool {
        self.text.windows(4).any(|w| {
            w[0].is_ascii_uppercase()
                && w[1].is_ascii_uppercase()
                && w[2].is_ascii_digit()
                && w[3].is_ascii_digit()
        })
    }

    fn len(&self) -> usize {
        self.text.len()
    }

    fn digits(&self) -> usize {
        self.pass.digits
    }

    fn has(&self, b: u8) -> bool {
        self.pass.present[usize::from(b >> 6)] >> (b & 63) & 1 == 1
    }

    fn has_either_case(&self, b: u8) -> bool {
        self.has(b.to_ascii_lowercase()) || self.has(b.to_ascii_uppercase())
    }

    /// Each of `letters`, in either case.
    fn has_all_any_case(&self, letters: &[u8]) -> bool {
        letters.iter().all(|&b| self.has_either_case(b))
    }

    /// Whether the text holds, in either case, every letter of some [`SPECIAL_WORDS`] word:
    /// only then can the special-category scan match.
    fn may_hold_a_special_word(&self) -> bool {
        // `A..=Z` are bits 1 to 26 of the second word of the set, `a..=z` bits 33 to 58.
        let ascii = self.pass.present[1];
        let letters = ((ascii >> 1) | (ascii >> 33)) as u32 & 0x03ff_ffff;
        SPECIAL_LETTERS.iter().any(|&set| set & !letters == 0)
    }
}

/// One detection: which detector fired, and where (byte range in the scanned text).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// The detector's category.
    pub category: &'static str,
    /// The detector's group.
    pub group: &'static str,
    /// The detector's severity.
    pub severity: &'static str,
    /// Where it fired.
    pub span: Range<usize>,
}

/// The built-in detectors.
pub const DETECTORS: &[Detector] = &[
    Detector {
        category: "private_key",
        group: "secret",
        severity: "critical",
        find: private_key,
        gate: Gate::new(11, b"-BN "),
    },
    Detector {
        category: "anthropic_key",
        group: "secret",
        severity: "critical",
        find: anthropic_key,
        gate: Gate::new(27, b"sk-ant"),
    },
    Detector {
        category: "openai_key",
        group: "secret",
        severity: "critical",
        find: openai_key,
        gate: Gate::new(23, b"sk-"),
    },
    Detector {
        category: "aws_access_key",
        group: "secret",
        severity: "critical",
        find: aws_access_key,
        gate: Gate::new(20, b"AI"),
    },
    Detector {
        category: "google_api_key",
        group: "secret",
        severity: "critical",
        find: google_api_key,
        gate: Gate::new(39, b"AIza"),
    },
    Detector {
        category: "github_token",
        group: "secret",
        severity: "critical",
        find: github_token,
        gate: Gate::new(34, b"gh_"),
    },
    Detector {
        category: "slack_token",
        group: "secret",
        severity: "critical",
        find: slack_token,
        gate: Gate::new(15, b"x-"),
    },
    Detector {
        category: "jwt",
        group: "credential",
        severity: "critical",
        find: jwt,
        gate: Gate::new(32, b"eyJ."),
    },
    Detector {
        category: "bearer_token",
        group: "credential",
        severity: "critical",
        find: bearer_token,
        gate: Gate::new(27, b" ").and(|p| p.has_all_any_case(b"bear")),
    },
    Detector {
        category: "email",
        group: "pii",
        severity: "warning",
        find: email,
        gate: Gate::new(6, b"@."),
    },
    Detector {
        category: "password",
        group: "credential",
        severity: "critical",
        find: password,
        gate: Gate::new(8, b"").and(|p| p.has_all_any_case(b"pwd") && (p.has(b':') || p.has(b'='))),
    },
    Detector {
        category: "credit_card",
        group: "financial",
        severity: "critical",
        find: credit_card,
        gate: Gate::OPEN.digits(13),
    },
    Detector {
        category: "iban",
        group: "financial",
        severity: "critical",
        find: iban,
        gate: Gate::new(15, b"").digits(2).and(|p| p.country_check()),
    },
    Detector {
        category: "us_ssn",
        group: "gov_id",
        severity: "critical",
        find: us_ssn,
        gate: Gate::new(11, b"")
            .digits(9)
            .and(|p| p.digit_dash_digit() >= 2),
    },
    Detector {
        category: "phone",
        group: "pii",
        severity: "warning",
        find: phone,
        gate: Gate::OPEN.digits(8).and(|p| {
            p.has(b'+') || p.digit_dash_digit() >= 2 || (p.digit_dash_digit() >= 1 && p.has(b'('))
        }),
    },
    Detector {
        category: "ipv4",
        group: "pii",
        severity: "info",
        find: ipv4,
        gate: Gate::new(7, b".").digits(4),
    },
    Detector {
        category: "ipv6",
        group: "pii",
        severity: "info",
        find: ipv6,
        gate: Gate::new(4, b":").and(|p| {
            let (groups, double) = p.hex_colon_hex();
            double || groups >= 7
        }),
    },
    Detector {
        category: "special_category",
        group: "special_category",
        severity: "warning",
        find: special_category,
        gate: Gate::new(3, b"").and(|p| p.may_hold_a_special_word()),
    },
];

/// GDPR Art. 9 special categories, a best-effort lexicon (the reference's): whole words only,
/// any case.
const SPECIAL_WORDS: &[&str] = &[
    "diagnos",
    "diagnosis",
    "diagnoses",
    "diagnosed",
    "hiv",
    "pregnant",
    "pregnancy",
    "disabled",
    "disability",
    "biometric",
    "fingerprint",
    "fingerprints",
    "genetic",
    "ethnicity",
    "religion",
    "religious",
];

/// The first letters of the [`SPECIAL_WORDS`] (a test checks the list).
const SPECIAL_FIRST: &[u8] = b"dhpbfger";

/// The letters of each of the [`SPECIAL_WORDS`] (lower-case ASCII letters only, or this does
/// not compile), as a set: bit 0 for `a`.
const SPECIAL_LETTERS: [u32; SPECIAL_WORDS.len()] = {
    let mut sets = [0u32; SPECIAL_WORDS.len()];
    let mut w = 0;
    while w < SPECIAL_WORDS.len() {
        let word = SPECIAL_WORDS[w].as_bytes();
        let mut i = 0;
        while i < word.len() {
            assert!(
                word[i].is_ascii_lowercase(),
                "a lexicon word of a to z only"
            );
            sets[w] |= 1 << (word[i] - b'a');
            i += 1;
        }
        w += 1;
    }
    sets
};

/// The bytes a lexicon word is made of (ASCII letters and digits, `_`), as a table: the scan
/// below runs over every string an entry holds, so each byte costs one lookup.
const WORD_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric() || b == b'_';
        i += 1;
    }
    table
};

fn special_category(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let is_word = |at: usize| b.get(at).is_some_and(|&c| WORD_BYTE[usize::from(c)]);
    let mut at = 0;
    while at < b.len() {
        while at < b.len() && !is_word(at) {
            at += 1;
        }
        let start = at;
        while is_word(at) {
            at += 1;
        }
        let w = &b[start..at];
        // Every lexicon word is 3 to 12 letters and starts with one of `SPECIAL_FIRST`.
        let maybe =
            (3..=12).contains(&w.len()) && SPECIAL_FIRST.contains(&w[0].to_ascii_lowercase());
        if maybe
            && SPECIAL_WORDS
                .iter()
                .any(|s| w.eq_ignore_ascii_case(s.as_bytes()))
        {
            out.push(start..at);
        }
    }
}

/// Runs every built-in detector over `text`; findings sorted by position.
pub fn scan(text: &str) -> Vec<Finding> {
    scan_with(DETECTORS, text)
}

/// Runs the given detectors over `text`; findings sorted by position. A span claimed by an
/// earlier detector in the list is not reported again by a later one (an Anthropic key is not
/// also an OpenAI key).
pub fn scan_with(detectors: &[Detector], text: &str) -> Vec<Finding> {
    scan_passed(detectors, text, Pass::over(text))
}

/// [`scan_with`] on a text whose [`Pass`] was made before (`pass` must be `Pass::over(text)`).
pub(crate) fn scan_passed(detectors: &[Detector], text: &str, pass: Pass) -> Vec<Finding> {
    let profile = Profile::with(text, pass);
    scan_gated(detectors, text, |d| d.gate.lets_through(&profile))
}

/// Runs the detectors that `run` lets through.
fn scan_gated(detectors: &[Detector], text: &str, run: impl Fn(&Detector) -> bool) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut spans = Vec::new();
    for d in detectors.iter().filter(|d| run(d)) {
        spans.clear();
        (d.find)(text, &mut spans);
        for span in spans.drain(..) {
            if out
                .iter()
                .any(|f| f.span.start < span.end && span.start < f.span.end)
            {
                continue;
            }
            out.push(Finding {
                category: d.category,
                group: d.group,
                severity: d.severity,
                span,
            });
        }
    }
    out.sort_by_key(|f| f.span.start);
    out
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The run of bytes satisfying `ok` starting at `at`.
fn run(b: &[u8], at: usize, ok: impl Fn(u8) -> bool) -> usize {
    b[at..].iter().take_while(|&&c| ok(c)).count()
}

/// Whether `at` starts a word (not preceded by a token character).
fn word_start(b: &[u8], at: usize) -> bool {
    at == 0 || !is_token(b[at - 1])
}

/// Every match of `prefix` at a word start followed by at least `min` token characters.
fn prefixed(text: &str, prefix: &str, min: usize, out: &mut Vec<Range<usize>>) {
    prefixed_any(text, &[prefix], min, out);
}

/// Every position where one of `prefixes` (all with the same first byte) starts, in order.
/// One `memchr` pass over the text finds the candidates; most texts have few.
fn starts_of<'t, 'p>(
    text: &'t str,
    prefixes: &'p [&'p str],
) -> impl Iterator<Item = (usize, &'p str)> + use<'t, 'p> {
    let b = text.as_bytes();
    let first = prefixes.first().and_then(|p| p.bytes().next()).unwrap_or(0);
    memchr::memchr_iter(first, b).filter_map(move |i| {
        prefixes
            .iter()
            .find(|p| b[i..].starts_with(p.as_bytes()))
            .map(|p| (i, *p))
    })
}

/// Like [`starts_of`], ignoring ASCII case.
fn starts_of_any_case<'t, 'p>(
    text: &'t str,
    words: &'p [&'p str],
) -> impl Iterator<Item = (usize, &'p str)> + use<'t, 'p> {
    let b = text.as_bytes();
    let first = words.first().and_then(|p| p.bytes().next()).unwrap_or(0);
    memchr::memchr2_iter(first.to_ascii_lowercase(), first.to_ascii_uppercase(), b).filter_map(
        move |i| {
            words
                .iter()
                .find(|w| {
                    b.get(i..i + w.len())
                        .is_some_and(|s| s.eq_ignore_ascii_case(w.as_bytes()))
                })
                .map(|w| (i, *w))
        },
    )
}

/// Every match of one of `prefixes` at a word start followed by at least `min` token
/// characters.
fn prefixed_any(text: &str, prefixes: &[&str], min: usize, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let mut from = 0;
    for (i, prefix) in starts_of(text, prefixes) {
        if i < from {
            continue;
        }
        let body = run(b, i + prefix.len(), is_token);
        if word_start(b, i) && body >= min {
            out.push(i..i + prefix.len() + body);
            from = i + prefix.len() + body;
        }
    }
}

fn openai_key(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed(text, "sk-", 20, out);
}

fn anthropic_key(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed(text, "sk-ant-", 20, out);
}

fn github_token(text: &str, out: &mut Vec<Range<usize>>) {
    let prefixes = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"];
    prefixed_any(text, &prefixes, 30, out);
}

fn slack_token(text: &str, out: &mut Vec<Range<usize>>) {
    let prefixes = ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xapp-"];
    prefixed_any(text, &prefixes, 10, out);
}

/// `AKIA`/`ASIA` and 16 upper-case letters or digits, as a whole word.
fn aws_access_key(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    for (i, _) in starts_of(text, &["AKIA", "ASIA"]) {
        let n = run(b, i + 4, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
        let end = i + 4 + n;
        if word_start(b, i) && n == 16 && (end == b.len() || !is_token(b[end])) {
            out.push(i..end);
        }
    }
}

/// `AIza` and 35 token characters.
fn google_api_key(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let mut from = 0;
    for (i, _) in starts_of(text, &["AIza"]) {
        if i < from {
            continue;
        }
        let n = run(b, i + 4, is_token);
        if word_start(b, i) && n >= 35 {
            out.push(i..i + 4 + n);
        }
        from = i + 4;
    }
}

/// Three base64url segments, the first two starting `eyJ` (a JSON object).
fn jwt(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
    let mut from = 0;
    for (i, _) in starts_of(text, &["eyJ"]) {
        if i < from {
            continue;
        }
        let h = run(b, i, b64);
        let mut end = i + h;
        let mut ok = word_start(b, i) && h >= 10;
        for _ in 0..2 {
            ok &= b.get(end) == Some(&b'.');
            if !ok {
                break;
            }
            let n = run(b, end + 1, b64);
            ok &= n >= 10;
            end += 1 + n;
        }
        ok &= b[i + h..].starts_with(b".eyJ");
        if ok {
            out.push(i..end);
            from = end;
        } else {
            from = i + 3;
        }
    }
}

/// `Bearer ` (any case) and a token of at least 20 characters.
fn bearer_token(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let tok = |c: u8| c.is_ascii_alphanumeric() || b"-._~+/=".contains(&c);
    let mut from = 0;
    for (i, _) in starts_of_any_case(text, &["bearer "]) {
        if i < from {
            continue;
        }
        let start = i + 7;
        let n = run(b, start, tok);
        if word_start(b, i) && n >= 20 {
            out.push(i..start + n);
            from = start + n;
        }
    }
}

/// A whole PEM private key block, `BEGIN` line to `END` line.
fn private_key(text: &str, out: &mut Vec<Range<usize>>) {
    let mut from = 0;
    for (i, _) in starts_of(text, &["-----BEGIN "]) {
        if i < from {
            continue;
        }
        let Some(head_end) = text[i + 11..].find("-----").map(|e| i + 11 + e) else {
            break;
        };
        let label = &text[i + 11..head_end];
        if !label.ends_with("PRIVATE KEY") || label.len() > 40 {
            from = i + 11;
            continue;
        }
        let footer = format!("-----END {label}-----");
        let end = text[head_end..]
            .find(&footer)
            .map_or(text.len(), |e| head_end + e + footer.len());
        out.push(i..end);
        from = end;
    }
}

/// `local@domain.tld` with the usual character sets.
fn email(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let local = |c: u8| c.is_ascii_alphanumeric() || b"._%+-".contains(&c);
    let domain = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'.';
    let mut last_end = 0;
    for (at, _) in text.match_indices('@') {
        let l = b[last_end..at]
            .iter()
            .rev()
            .take_while(|&&c| local(c))
            .count();
        let d = run(b, at + 1, domain);
        let dom = text[at + 1..at + 1 + d].trim_end_matches('.');
        let tld_ok = dom.rsplit_once('.').is_some_and(|(host, tld)| {
            !host.is_empty() && tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic())
        });
        if l > 0 && tld_ok {
            let end = at + 1 + dom.len();
            out.push(at - l..end);
            last_end = end;
        }
    }
}

/// `password`, `passwd` or `pwd`, then `:` or `=`, then a value of at least 4 characters.
fn password(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let mut from = 0;
    for (i, word) in starts_of_any_case(text, &["password", "passwd", "pwd"]) {
        if i < from || !word_start(b, i) {
            continue;
        }
        let mut j = i + word.len();
        // `"password": "…"`, `password=…`, `pwd : …`
        j += run(b, j, |c| c == b'"' || c == b'\'' || c == b' ');
        if !matches!(b.get(j), Some(b':' | b'=')) {
            continue;
        }
        j += 1;
        j += run(b, j, |c| c == b' ' || c == b'"' || c == b'\'');
        let n = run(b, j, |c| {
            !c.is_ascii_whitespace() && c != b'"' && c != b'\'' && c != b','
        });
        if n >= 4 {
            out.push(i..j + n);
            from = j + n;
        }
    }
}

/// A run of digits, possibly grouped by single spaces or dashes, that is a whole word.
struct DigitRun {
    span: Range<usize>,
    digits: String,
    /// Length of each group between separators.
    groups: Vec<usize>,
}

fn digit_runs(text: &str, min: usize, max: usize, out: &mut Vec<DigitRun>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit()
            || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.'))
        {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = String::new();
        let mut groups = vec![0];
        let mut end = i;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                digits.push(b[i] as char);
                if let Some(g) = groups.last_mut() {
                    *g += 1;
                }
                i += 1;
                end = i;
            } else if matches!(b[i], b' ' | b'-') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                groups.push(0);
                i += 1;
            } else {
                break;
            }
        }
        let after = b.get(end);
        let bounded = after.is_none_or(|&c| {
            !c.is_ascii_alphanumeric()
                && (c != b'.' || !b.get(end + 1).is_some_and(u8::is_ascii_digit))
        });
        if bounded && (min..=max).contains(&digits.len()) {
            out.push(DigitRun {
                span: start..end,
                digits,
                groups,
            });
        }
        i = end.max(start + 1);
    }
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// 13 to 19 digits with a valid Luhn check digit and a card network's leading digit, written
/// either unbroken or grouped as cards are printed (4-4-4-4, 4-4-4-4-3, 4-6-5, 4-6-4).
fn credit_card(text: &str, out: &mut Vec<Range<usize>>) {
    let mut runs = Vec::new();
    digit_runs(text, 13, 19, &mut runs);
    for run in runs {
        let grouped_like_a_card = matches!(
            run.groups.as_slice(),
            [_] | [4, 4, 4, 4] | [4, 4, 4, 4, 3] | [4, 6, 5] | [4, 6, 4]
        );
        if grouped_like_a_card
            && matches!(run.digits.as_bytes()[0], b'2'..=b'6')
            && luhn(&run.digits)
        {
            out.push(run.span);
        }
    }
}

/// Country code, check digits and 11 to 30 letters or digits (spaces every four allowed), valid
/// under ISO 13616 mod-97.
fn iban(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i + 4 <= b.len() {
        let starts = b[i].is_ascii_uppercase()
            && b[i + 1].is_ascii_uppercase()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit()
            && word_start(b, i);
        if !starts {
            i += 1;
            continue;
        }
        let mut compact = String::new();
        let mut j = i;
        let mut end = i;
        while j < b.len() && compact.len() < 34 {
            if b[j].is_ascii_uppercase() || b[j].is_ascii_digit() {
                compact.push(b[j] as char);
                j += 1;
                end = j;
            } else if b[j] == b' '
                && b.get(j + 1)
                    .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            {
                j += 1;
            } else {
                break;
            }
        }
        let whole = b.get(end).is_none_or(|c| !c.is_ascii_alphanumeric());
        if whole && (15..=34).contains(&compact.len()) && mod97(&compact) == 1 {
            out.push(i..end);
            i = end;
        } else {
            i += 1;
        }
    }
}

fn mod97(iban: &str) -> u32 {
    let (head, tail) = iban.split_at(4);
    let mut rem = 0u32;
    for c in tail.chars().chain(head.chars()) {
        let v = c.to_digit(36).unwrap_or(0);
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem
}

/// `ddd-dd-dddd`, excluding numbers the SSA never issues.
fn us_ssn(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    for i in 0..b.len().saturating_sub(10) {
        if !b[i].is_ascii_digit() {
            continue;
        }
        let w = &b[i..i + 11];
        let shape = w.iter().enumerate().all(|(k, &c)| {
            if k == 3 || k == 6 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
        let bounded = (i == 0 || !b[i - 1].is_ascii_alphanumeric() && b[i - 1] != b'-')
            && b.get(i + 11)
                .is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'-');
        if shape && bounded {
            let area = &text[i..i + 3];
            let valid = area != "000"
                && area != "666"
                && !area.starts_with('9')
                && &text[i + 4..i + 6] != "00"
                && &text[i + 7..i + 11] != "0000";
            if valid {
                out.push(i..i + 11);
            }
        }
    }
}

/// International numbers (`+` and 8 to 15 digits, spaces, dashes or parentheses between
/// groups) and North American ones written `(ddd) ddd-dddd` or `ddd-ddd-dddd`.
fn phone(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let plus = b[i] == b'+' && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        let paren = b[i] == b'(' && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if !plus
            && !paren
            && !(b[i].is_ascii_digit() && word_start(b, i) && (i == 0 || b[i - 1] != b'.'))
        {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = if plus { i + 1 } else { i };
        let (mut digits, mut seps, mut end) = (0, 0, j);
        while j < b.len() {
            match b[j] {
                c if c.is_ascii_digit() => {
                    digits += 1;
                    j += 1;
                    end = j;
                }
                b' ' | b'-' | b'(' | b')'
                    if j + 1 < b.len()
                        && (b[j + 1].is_ascii_digit() || b[j + 1] == b'(' || b[j + 1] == b' ') =>
                {
                    seps += 1;
                    j += 1;
                }
                _ => break,
            }
        }
        let bounded = b
            .get(end)
            .is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'-');
        let shape = &text[start..end];
        let north_american = !plus
            && digits == 10
            && (shape.len() == 14 && shape.starts_with('(') && shape.as_bytes()[4] == b')'
                || shape.len() == 12 && shape.as_bytes()[3] == b'-' && shape.as_bytes()[7] == b'-');
        if bounded && ((plus && (8..=15).contains(&digits) && seps <= 5) || north_american) {
            out.push(start..end);
            i = end;
        } else {
            i = start + 1;
        }
    }
}

/// Four dotted decimal octets, a whole word (not part of a longer dotted number).
fn ipv4(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit()
            || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.'))
        {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut ok = true;
        for octet in 0..4 {
            let n = run(b, j, |c| c.is_ascii_digit());
            let value: u32 = text[j..j + n].parse().unwrap_or(256);
            if n == 0 || n > 3 || value > 255 || (n > 1 && b[j] == b'0') {
                ok = false;
                break;
            }
            j += n;
            if octet < 3 {
                if b.get(j) != Some(&b'.') {
                    ok = false;
                    break;
                }
                j += 1;
            }
        }
        let bounded = b.get(j).is_none_or(|c| {
            !c.is_ascii_alphanumeric()
                && (*c != b'.' || !b.get(j + 1).is_some_and(u8::is_ascii_digit))
        });
        if ok && bounded {
            out.push(i..j);
            i = j;
        } else {
            i += 1;
        }
    }
}

/// Colon-separated hex groups with `::` or all eight groups (so times like `12:30:45` stay
/// quiet).
fn ipv6(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    if memchr::memchr(b':', b).is_none() {
        return;
    }
    let ok = |c: u8| c.is_ascii_hexdigit() || c == b':';
    let mut i = 0;
    while i < b.len() {
        if !ok(b[i]) || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b':')) {
            i += 1;
            continue;
        }
        let n = run(b, i, ok);
        let cand = &text[i..i + n];
        // Both forms below need at least two colons; most hex runs (words, numbers) have none.
        if memchr::memchr_iter(b':', cand.as_bytes()).nth(1).is_none() {
            i += n.max(1);
            continue;
        }
        let groups: Vec<&str> = cand.split(':').collect();
        let colons = groups.len() - 1;
        let compressed =
            cand.contains("::") && !cand.contains(":::") && cand.matches("::").count() == 1;
        let valid_groups = groups.iter().all(|g| g.len() <= 4)
            && groups.iter().filter(|g| !g.is_empty()).count() >= 2;
        let bounded = b.get(i + n).is_none_or(|c| !c.is_ascii_alphanumeric());
        if bounded
            && valid_groups
            && ((compressed && colons >= 2)
                || (colons == 7 && groups.iter().all(|g| !g.is_empty())))
        {
            out.push(i..i + n);
        }
        i += n.max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats(text: &str) -> Vec<&'static str> {
        scan(text).iter().map(|f| f.category).collect()
    }

    #[test]
    fn true_positives() {
        assert_eq!(cats("key=sk-proj-0123456789abcdefghijKLMN"), ["openai_key"]);
        assert_eq!(
            cats("sk-ant-api03-0123456789abcdefghijklmn"),
            ["anthropic_key"]
        );
        assert_eq!(cats("AKIAIOSFODNN7EXAMPLE"), ["aws_access_key"]);
        assert_eq!(
            cats("AIzaSyA1234567890abcdefghijklmnopqrstuv"),
            ["google_api_key"]
        );
        assert!(
            cats("AIzaSyA1234567890abcdefghijklmnopqrstu").is_empty(),
            "one short"
        );
        assert_eq!(
            cats("ghp_0123456789abcdefghijklmnopqrstuvwxyz"),
            ["github_token"]
        );
        assert_eq!(cats("xoxb-1234567890-abcdefghij"), ["slack_token"]);
        assert_eq!(
            cats(
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
            ),
            ["jwt"]
        );
        assert_eq!(
            cats("Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123"),
            ["bearer_token"]
        );
        assert_eq!(cats("write to a.b-c+d@mail.example.co.uk."), ["email"]);
        let pem = "x -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY----- y";
        let f = scan(pem);
        assert_eq!(f.len(), 1);
        assert_eq!(
            &pem[f[0].span.clone()],
            &pem[2..pem.len() - 2],
            "the whole block"
        );
    }

    /// The shortcuts `special_category` and its gate take hold for every lexicon word.
    #[test]
    fn special_words_fit_their_shortcuts() {
        for w in SPECIAL_WORDS {
            assert!((3..=12).contains(&w.len()), "{w}");
            assert!(SPECIAL_FIRST.contains(&w.as_bytes()[0]), "{w}");
        }
    }

    #[test]
    fn special_categories_by_whole_word() {
        assert_eq!(
            cats("Patient DIAGNOSED with diabetes; religion noted"),
            ["special_category", "special_category"]
        );
        assert_eq!(cats("biometric login"), ["special_category"]);
        for quiet in [
            "diagnostics ok",
            "irreligiously",
            "shiv",
            "genetics_lab2",
            "archive",
        ] {
            assert!(cats(quiet).is_empty(), "{quiet}");
        }
    }

    #[test]
    fn false_positives_stay_quiet() {
        for text in [
            "cost 0.004750000 USD",
            "4f98840b471811ab916b01387768273cf938cda5045f07743fd0ac953d0d8230",
            "acc00000000000000000000000000001",
            "task-sk-short",
            "risk-assessment sk-",
            "AKIAIOSFODNN7EXAMPLEX",
            "user@localhost",
            "@handle and a@b",
            "-----BEGIN CERTIFICATE-----",
            "bearer of bad news",
            "eyJ alone",
            "2026-01-01T00:00:00.001001+00:00",
        ] {
            assert!(scan(text).is_empty(), "{text:?} gave {:?}", scan(text));
        }
    }

    #[test]
    fn personal_and_financial_data() {
        assert_eq!(cats("card 4111 1111 1111 1111 exp 12/29"), ["credit_card"]);
        assert_eq!(cats("card 4111-1111-1111-1111"), ["credit_card"]);
        assert_eq!(cats("pay to DE89 3704 0044 0532 0130 00 today"), ["iban"]);
        assert_eq!(cats("GB82WEST12345698765432"), ["iban"]);
        assert_eq!(cats("ssn 123-45-6789"), ["us_ssn"]);
        assert_eq!(
            cats("call +44 20 7946 0958 or (212) 555-0123 or 212-555-0123"),
            ["phone", "phone", "phone"]
        );
        assert_eq!(
            cats("from 192.168.1.20 and 2001:db8::8a2e:370:7334"),
            ["ipv4", "ipv6"]
        );
        assert_eq!(cats("password: hunter2!"), ["password"]);
        assert_eq!(cats(r#"{"password": "s3cret-value"}"#), ["password"]);
    }

    #[test]
    fn personal_data_false_positives() {
        for text in [
            "order 4111 1111 1111 1112",       // Luhn fails
            "DE89 3704 0044 0532 0130 01",     // mod-97 fails
            "ssn 000-12-3456 and 666-12-3456", // never issued
            "at 12:30:45 on 2026-01-01",       // times and dates
            "version 1.2.3.4.5 and 300.1.1.1", // not addresses
            "latency_ms 412.25 score 0.82",
            "seq 1234567890123", // a long number, no network digit
            "the password field is empty",
            "+1",
            "v1.14.0",
        ] {
            assert!(scan(text).is_empty(), "{text:?} gave {:?}", scan(text));
        }
    }

    /// The gates only skip detectors that could not have matched: on every sample text, every
    /// window of it and random edits of it, the gated scan finds exactly what running every
    /// detector finds.
    #[test]
    fn gates_never_hide_a_match() {
        let samples = [
            "key=sk-proj-0123456789abcdefghijKLMN",
            "sk-ant-api03-0123456789abcdefghijklmn",
            "AKIAIOSFODNN7EXAMPLE ASIAIOSFODNN7EXAMPLE",
            "AIzaSyA1234567890abcdefghijklmnopqrstuv",
            "ghp_0123456789abcdefghijklmnopqrstuvwxyz github_pat_0123456789abcdefghijklmnopqrstu",
            "xoxb-1234567890-abcdefghij xapp-1234567890-abc",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "Authorization: BEARER abcdefghijklmnopqrstuvwxyz0123",
            "write to a.b-c+d@mail.example.co.uk.",
            "x -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY----- y",
            "Patient DIAGNOSED with diabetes; religion noted, HIV, Fingerprints, ethnicity",
            "card 4111 1111 1111 1111 exp 12/29, 4111-1111-1111-1111, 5500005555555559",
            "pay to DE89 3704 0044 0532 0130 00 today GB82WEST12345698765432",
            "ssn 123-45-6789",
            "call +44 20 7946 0958 or (212) 555-0123 or 212-555-0123",
            "from 192.168.1.20 and 2001:db8::8a2e:370:7334 and 1:2:3:4:5:6:7:8 ::1",
            "password: hunter2! PWD=abcd passwd = 'longer'",
            r#"{"password": "s3cret-value", "applicant":"A-17","amount":25000}"#,
        ];
        let check = |text: &str| {
            let all = scan_gated(DETECTORS, text, |_| true);
            assert_eq!(scan(text), all, "{text:?}");
        };
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        let alphabet = b"aAbBdDeEgGhHIJkKnNpPrRstwWxyz0123456789 -_.:@+()=\"'";
        for sample in samples {
            let b = sample.as_bytes();
            for i in 0..b.len() {
                for j in (i + 1)..=b.len().min(i + 48) {
                    if let Ok(window) = std::str::from_utf8(&b[i..j]) {
                        check(window);
                    }
                }
            }
            for _ in 0..300 {
                let mut edited = b.to_vec();
                for _ in 0..=next(3) {
                    let at = next(edited.len() + 1);
                    match next(3) {
                        0 if at < edited.len() => {
                            edited.remove(at);
                        }
                        1 => edited.insert(at, alphabet[next(alphabet.len())]),
                        _ => {
                            let at = at.min(edited.len().saturating_sub(1));
                            if let Some(c) = edited.get_mut(at) {
                                *c = alphabet[next(alphabet.len())];
                            }
                        }
                    }
                }
                check(&String::from_utf8_lossy(&edited));
            }
        }
    }

    /// The gates do their work: on the strings an ordinary entry holds (the inbound layer's,
    /// a JSON body) no detector runs at all, while every lexicon word, in any case, gets the
    /// special-category scan.
    #[test]
    fn gates_rule_out_ordinary_text() {
        let ordinary = [
            "POST",
            "agent",
            "/agent/triage",
            "application/json",
            "completed",
            r#"{"applicant":"A-17","amount":25000,"income":52000,"notes":"steady employment, no defaults"}"#,
        ];
        let gated = |text: &str| -> Vec<&str> {
            let profile = Profile::with(text, Pass::over(text));
            DETECTORS
                .iter()
                .filter(|d| d.gate.lets_through(&profile))
                .map(|d| d.category)
                .collect()
        };
        for text in ordinary {
            assert_eq!(gated(text), Vec::<&str>::new(), "{text:?}");
        }
        for word in SPECIAL_WORDS {
            for text in [word.to_string(), word.to_uppercase(), format!("a {word}.")] {
                assert!(gated(&text).contains(&"special_category"), "{text:?}");
            }
        }
    }

    #[test]
    fn detectors_never_panic_on_odd_text() {
        for text in [
            "",
            "+",
            "(",
            "::",
            ":::::",
            "1.",
            "1.2.3.",
            "-----BEGIN ",
            "eyJ.eyJ.",
            "AKIA",
            "é+1 (é",
            "password:",
            "pwd=\u{2028}",
        ] {
            let _ = scan(text);
        }
        let long: String = "9".repeat(10_000);
        let _ = scan(&long);
    }

    #[test]
    fn overlapping_detectors_report_once() {
        assert_eq!(
            cats("sk-ant-api03-0123456789abcdefghijklmn and sk-0123456789abcdefghijklmn"),
            ["anthropic_key", "openai_key"]
        );
    }
}

//! The built-in detectors' scanners: hand-written, linear in the text, no backtracking. Each
//! pushes the byte range of every match; the gates in [`detect`](super) decide which run.
//!
//! Uses nothing but the standard library.

use std::ops::Range;

/// GDPR Art. 9 special categories, a best-effort lexicon (the reference's): whole words only,
/// any case.
pub(super) const SPECIAL_WORDS: &[&str] = &[
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
pub(super) const SPECIAL_FIRST: &[u8] = b"dhpbfger";

/// The letters of each of the [`SPECIAL_WORDS`] (lower-case ASCII letters only, or this does
/// not compile), as a set: bit 0 for `a`.
pub(super) const SPECIAL_LETTERS: [u32; SPECIAL_WORDS.len()] = {
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
pub(super) const WORD_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric() || b == b'_';
        i += 1;
    }
    table
};

pub(super) fn special_category(text: &str, out: &mut Vec<Range<usize>>) {
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

pub(super) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The run of bytes satisfying `ok` starting at `at`.
pub(super) fn run(b: &[u8], at: usize, ok: impl Fn(u8) -> bool) -> usize {
    b[at..].iter().take_while(|&&c| ok(c)).count()
}

/// Whether `at` starts a word (not preceded by a token character).
pub(super) fn word_start(b: &[u8], at: usize) -> bool {
    at == 0 || !is_token(b[at - 1])
}

/// Every match of `prefix` at a word start followed by at least `min` token characters.
pub(super) fn prefixed(text: &str, prefix: &str, min: usize, out: &mut Vec<Range<usize>>) {
    prefixed_any(text, &[prefix], min, out);
}

/// Every position where one of `prefixes` (all with the same first byte) starts, in order.
/// One `memchr` pass over the text finds the candidates; most texts have few.
pub(super) fn starts_of<'t, 'p>(
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
pub(super) fn starts_of_any_case<'t, 'p>(
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
pub(super) fn prefixed_any(text: &str, prefixes: &[&str], min: usize, out: &mut Vec<Range<usize>>) {
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

/// A webhook's URL, whose path is its secret: Slack's
/// (`https://hooks.slack.com/services/T.../B.../...`) and Discord's
/// (`https://discord.com/api/webhooks/ID/TOKEN`), from the host to the end of the path; and
/// the path alone, as a request's path is recorded without its host
/// (`/services/T0123ABCD/B0456EFGH/` and 20 or more letters and digits;
/// `/api/webhooks/` 17 to 20 digits `/` and a token of 60 or more).
pub(super) fn webhook_url(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let path = |c: u8| c.is_ascii_alphanumeric() || b"-_/".contains(&c);
    for (i, prefix) in starts_of(text, &["hooks.slack.com/services/"]).chain(starts_of(
        text,
        &["discord.com/api/webhooks/", "discordapp.com/api/webhooks/"],
    )) {
        let n = run(b, i + prefix.len(), path);
        if n >= 20 {
            out.push(i..i + prefix.len() + n);
        }
    }
    let id = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    for (i, prefix) in starts_of(text, &["/services/T"]) {
        // T<workspace>/B<hook>/<secret>
        let at = i + prefix.len();
        let team = run(b, at, id);
        let hook = match b.get(at + team..at + team + 2) {
            Some(b"/B") if team >= 6 => run(b, at + team + 2, id),
            _ => continue,
        };
        let secret_at = at + team + 2 + hook + 1;
        if hook >= 6 && b.get(secret_at - 1) == Some(&b'/') {
            let secret = run(b, secret_at, |c| c.is_ascii_alphanumeric());
            if secret >= 20 {
                out.push(i..secret_at + secret);
            }
        }
    }
    for (i, prefix) in starts_of(text, &["/api/webhooks/"]) {
        let at = i + prefix.len();
        let digits = run(b, at, |c| c.is_ascii_digit());
        if (17..=20).contains(&digits) && b.get(at + digits) == Some(&b'/') {
            let token = run(b, at + digits + 1, is_token);
            if token >= 60 {
                out.push(i..at + digits + 1 + token);
            }
        }
    }
}

/// A Telegram bot's token (the bot's id, 6 to 16 digits, then `:AA` and 32 to 34 more letters,
/// digits, `-` or `_`), as it stands alone or in the API's paths
/// (`/bot123456789:AA.../sendMessage`).
pub(super) fn telegram_bot_token(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    for (colon, _) in text.match_indices(":AA") {
        let digits = b[..colon]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let start = colon - digits;
        let after_bot = start >= 3 && b[start - 3..start].eq_ignore_ascii_case(b"bot");
        let token = run(b, colon + 1, |c| {
            c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
        });
        if (6..=16).contains(&digits)
            && (34..=36).contains(&token)
            && (after_bot && word_start(b, start - 3) || word_start(b, start))
        {
            out.push(start..colon + 1 + token);
        }
    }
}

/// The password of a URL's user information (`postgres://app:PASSWORD@db/x`,
/// `https://user:PASSWORD@host`): what follows the user name's `:` up to the `@` that ends it,
/// with no `/`, `?`, `#` or space before it.
pub(super) fn url_password(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    for (i, _) in text.match_indices("://") {
        let start = i + 3;
        let end_of_authority = b[start..]
            .iter()
            .position(|c| matches!(c, b'/' | b'?' | b'#') || c.is_ascii_whitespace())
            .map_or(b.len(), |n| start + n);
        let authority = &b[start..end_of_authority];
        // The last `@` ends the user information; its first `:` ends the user name.
        let Some(at) = authority.iter().rposition(|&c| c == b'@') else {
            continue;
        };
        let Some(colon) = authority[..at].iter().position(|&c| c == b':') else {
            continue;
        };
        if colon + 1 < at {
            out.push(start + colon + 1..start + at);
        }
    }
}

/// Three base64url segments, the first two starting `eyJ` (a JSON object).
pub(super) fn jwt(text: &str, out: &mut Vec<Range<usize>>) {
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
pub(super) fn bearer_token(text: &str, out: &mut Vec<Range<usize>>) {
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
pub(super) fn private_key(text: &str, out: &mut Vec<Range<usize>>) {
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
pub(super) fn email(text: &str, out: &mut Vec<Range<usize>>) {
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
pub(super) fn password(text: &str, out: &mut Vec<Range<usize>>) {
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
pub(super) struct DigitRun {
    span: Range<usize>,
    digits: String,
    /// Length of each group between separators.
    groups: Vec<usize>,
}

pub(super) fn digit_runs(text: &str, min: usize, max: usize, out: &mut Vec<DigitRun>) {
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

pub(super) fn luhn(digits: &str) -> bool {
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
pub(super) fn credit_card(text: &str, out: &mut Vec<Range<usize>>) {
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
pub(super) fn iban(text: &str, out: &mut Vec<Range<usize>>) {
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

pub(super) fn mod97(iban: &str) -> u32 {
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
pub(super) fn us_ssn(text: &str, out: &mut Vec<Range<usize>>) {
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
pub(super) fn phone(text: &str, out: &mut Vec<Range<usize>>) {
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
pub(super) fn ipv4(text: &str, out: &mut Vec<Range<usize>>) {
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
        let mut octets = [0u32; 4];
        for (octet, slot) in octets.iter_mut().enumerate() {
            let n = run(b, j, |c| c.is_ascii_digit());
            let value: u32 = text[j..j + n].parse().unwrap_or(256);
            if n == 0 || n > 3 || value > 255 || (n > 1 && b[j] == b'0') {
                ok = false;
                break;
            }
            *slot = value;
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
            if !names_nobody(octets) {
                out.push(i..j);
            }
            i = j;
        } else {
            i += 1;
        }
    }
}

/// Addresses that identify no one: loopback (`127.0.0.0/8`), "this host" (`0.0.0.0`), and the
/// documentation ranges of RFC 5737 (`192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`), as
/// error texts and examples carry them.
fn names_nobody([a, b, c, _]: [u32; 4]) -> bool {
    a == 127
        || (a, b, c) == (0, 0, 0)
        || (a, b, c) == (192, 0, 2)
        || (a, b, c) == (198, 51, 100)
        || (a, b, c) == (203, 0, 113)
}

/// Colon-separated hex groups with `::` or all eight groups (so times like `12:30:45` stay
/// quiet).
pub(super) fn ipv6(text: &str, out: &mut Vec<Range<usize>>) {
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

//! A secret written as an assignment: a name that says it holds a secret, `=`, and a value
//! (`AWS_SECRET_ACCESS_KEY=wJalr…` in a `.env` file or a shell's `env`, `api_key=…` in a
//! URL's query, `AccountKey=…;` in a connection string, `client_secret = "…"` in an INI file
//! or code). It is how a key of no known shape (Azure's, Cohere's, Mistral's, AWS's secret
//! half) reaches a prompt or a tool's output. Only the value is reported: the name stays
//! readable (`AWS_SECRET_ACCESS_KEY=<redacted>`).
//!
//! Uses the names of [`field`](crate::redact::field), the ones a JSON field is judged by.

use std::ops::Range;

use crate::redact::field::names_a_secret;

/// The shortest value taken for a secret; and it must hold a digit, as every generated key of
/// this length does and placeholders (`${API_KEY}`, `<your-key>`, `None`) do not.
const MIN_VALUE: usize = 8;
/// The longest name looked at: past it, the `=` is not an assignment's.
const MAX_NAME: usize = 96;

/// Every value of `NAME=VALUE`, `NAME = "VALUE"` or `NAME='VALUE'` whose `NAME` says it holds a
/// secret and whose `VALUE` (up to a space, quote, bracket, `&`, `;` or `,`) is at least
/// [`MIN_VALUE`] characters with a digit. A comparison (`==`, `!=`, `<=`, `>=`) is not an
/// assignment, and code that computes a value (`token = get_token(user_1)`) gives none.
pub(super) fn secret_assignment(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let mut from = 0;
    for eq in memchr::memchr_iter(b'=', b) {
        if eq < from
            || matches!(b.get(eq + 1), Some(b'='))
            || (eq > 0 && matches!(b[eq - 1], b'=' | b'!' | b'<' | b'>'))
        {
            continue;
        }
        // The name: a run of name characters before the `=`, spaces between them allowed.
        let mut end = eq;
        while end > 0 && b[end - 1] == b' ' {
            end -= 1;
        }
        let start = end
            - b[end.saturating_sub(MAX_NAME + 1)..end]
                .iter()
                .rev()
                .take_while(|&&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
                .count();
        if start == end || end - start > MAX_NAME {
            continue;
        }
        // `text` is UTF-8 and the run is ASCII, so this cannot fail.
        let Ok(name) = std::str::from_utf8(&b[start..end]) else {
            continue;
        };
        if !names_a_secret(name) {
            continue;
        }
        let mut at = eq + 1;
        while b.get(at) == Some(&b' ') {
            at += 1;
        }
        if matches!(b.get(at), Some(b'"' | b'\'')) {
            at += 1;
        }
        let len = b[at..]
            .iter()
            .take_while(|&&c| {
                !c.is_ascii_whitespace()
                    && !matches!(
                        c,
                        b'"' | b'\'' | b'&' | b';' | b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}'
                    )
            })
            .count();
        if len >= MIN_VALUE && b[at..at + len].iter().any(u8::is_ascii_digit) {
            out.push(at..at + len);
            from = at + len;
        }
    }
}

//! Detectors for secrets and personal data in text.
//!
//! Each detector has a category (`openai_key`, `email`, …), a group (`secret`, `credential`,
//! `pii`, …) and a severity, and reports where in the text it fired. They are hand-written
//! scanners, linear in the text, with no backtracking. Findings name the category, never the
//! value.
//!
//! ```
//! use acttrace::chain::detect;
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
    },
    Detector {
        category: "anthropic_key",
        group: "secret",
        severity: "critical",
        find: anthropic_key,
    },
    Detector {
        category: "openai_key",
        group: "secret",
        severity: "critical",
        find: openai_key,
    },
    Detector {
        category: "aws_access_key",
        group: "secret",
        severity: "critical",
        find: aws_access_key,
    },
    Detector {
        category: "google_api_key",
        group: "secret",
        severity: "critical",
        find: google_api_key,
    },
    Detector {
        category: "github_token",
        group: "secret",
        severity: "critical",
        find: github_token,
    },
    Detector {
        category: "slack_token",
        group: "secret",
        severity: "critical",
        find: slack_token,
    },
    Detector {
        category: "jwt",
        group: "credential",
        severity: "critical",
        find: jwt,
    },
    Detector {
        category: "bearer_token",
        group: "credential",
        severity: "critical",
        find: bearer_token,
    },
    Detector {
        category: "email",
        group: "pii",
        severity: "warning",
        find: email,
    },
];

/// Runs every built-in detector over `text`; findings sorted by position.
pub fn scan(text: &str) -> Vec<Finding> {
    scan_with(DETECTORS, text)
}

/// Runs the given detectors over `text`; findings sorted by position. A span claimed by an
/// earlier detector in the list is not reported again by a later one (an Anthropic key is not
/// also an OpenAI key).
pub fn scan_with(detectors: &[Detector], text: &str) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut spans = Vec::new();
    for d in detectors {
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
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find(prefix).map(|i| i + from) {
        let body = run(b, i + prefix.len(), is_token);
        if word_start(b, i) && body >= min {
            out.push(i..i + prefix.len() + body);
            from = i + prefix.len() + body;
        } else {
            from = i + prefix.len();
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
    for p in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"] {
        prefixed(text, p, 30, out);
    }
}

fn slack_token(text: &str, out: &mut Vec<Range<usize>>) {
    for p in ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xapp-"] {
        prefixed(text, p, 10, out);
    }
}

/// `AKIA`/`ASIA` and 16 upper-case letters or digits, as a whole word.
fn aws_access_key(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    for p in ["AKIA", "ASIA"] {
        let mut from = 0;
        while let Some(i) = text[from..].find(p).map(|i| i + from) {
            let n = run(b, i + 4, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
            let end = i + 4 + n;
            if word_start(b, i) && n == 16 && (end == b.len() || !is_token(b[end])) {
                out.push(i..end);
            }
            from = i + 4;
        }
    }
}

/// `AIza` and 35 token characters.
fn google_api_key(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find("AIza").map(|i| i + from) {
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
    while let Some(i) = text[from..].find("eyJ").map(|i| i + from) {
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
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("bearer ").map(|i| i + from) {
        let start = i + 7;
        let n = run(b, start, tok);
        if word_start(b, i) && n >= 20 {
            out.push(i..start + n);
            from = start + n;
        } else {
            from = start;
        }
    }
}

/// A whole PEM private key block, `BEGIN` line to `END` line.
fn private_key(text: &str, out: &mut Vec<Range<usize>>) {
    let mut from = 0;
    while let Some(i) = text[from..].find("-----BEGIN ").map(|i| i + from) {
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
    fn overlapping_detectors_report_once() {
        assert_eq!(
            cats("sk-ant-api03-0123456789abcdefghijklmn and sk-0123456789abcdefghijklmn"),
            ["anthropic_key", "openai_key"]
        );
    }
}

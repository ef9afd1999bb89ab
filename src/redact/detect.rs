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
        category: "stripe_key",
        group: "secret",
        severity: "critical",
        find: stripe_key,
        gate: Gate::new(24, b"k_"),
    },
    Detector {
        category: "huggingface_token",
        group: "secret",
        severity: "critical",
        find: huggingface_token,
        gate: Gate::new(33, b"hf_"),
    },
    Detector {
        category: "gitlab_token",
        group: "secret",
        severity: "critical",
        find: gitlab_token,
        gate: Gate::new(25, b"gl-"),
    },
    Detector {
        category: "npm_token",
        group: "secret",
        severity: "critical",
        find: npm_token,
        gate: Gate::new(40, b"npm_"),
    },
    Detector {
        category: "sendgrid_key",
        group: "secret",
        severity: "critical",
        find: sendgrid_key,
        gate: Gate::new(69, b"SG."),
    },
    Detector {
        category: "groq_key",
        group: "secret",
        severity: "critical",
        find: groq_key,
        gate: Gate::new(52, b"gsk_"),
    },
    Detector {
        category: "xai_key",
        group: "secret",
        severity: "critical",
        find: xai_key,
        gate: Gate::new(52, b"xai-"),
    },
    Detector {
        category: "perplexity_key",
        group: "secret",
        severity: "critical",
        find: perplexity_key,
        gate: Gate::new(45, b"plx-"),
    },
    Detector {
        category: "replicate_token",
        group: "secret",
        severity: "critical",
        find: replicate_token,
        gate: Gate::new(35, b"r8_"),
    },
    Detector {
        category: "together_key",
        group: "secret",
        severity: "critical",
        find: together_key,
        gate: Gate::new(39, b"tgp_v1"),
    },
    Detector {
        category: "langsmith_key",
        group: "secret",
        severity: "critical",
        find: langsmith_key,
        gate: Gate::new(40, b"lsv2_"),
    },
    Detector {
        category: "pinecone_key",
        group: "secret",
        severity: "critical",
        find: pinecone_key,
        gate: Gate::new(45, b"pcsk_"),
    },
    Detector {
        category: "tavily_key",
        group: "secret",
        severity: "critical",
        find: tavily_key,
        gate: Gate::new(25, b"tvly-"),
    },
    Detector {
        category: "webhook_url",
        group: "secret",
        severity: "critical",
        find: webhook_url,
        gate: Gate::new(45, b"/s"),
    },
    Detector {
        category: "telegram_bot_token",
        group: "secret",
        severity: "critical",
        find: telegram_bot_token,
        gate: Gate::new(41, b":A")
            .digits(6)
            .and(|p| memchr::memmem::find(p.text, b":AA").is_some()),
    },
    Detector {
        category: "url_password",
        group: "credential",
        severity: "critical",
        find: url_password,
        gate: Gate::new(7, b":/@"),
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
        category: "encoded_secret",
        group: "secret",
        severity: "critical",
        find: encoded_secret,
        gate: Gate::new(17, b"").and(|p| encoded::may_hold(p.text)),
    },
    Detector {
        category: "escaped_secret",
        group: "secret",
        severity: "critical",
        find: escaped_secret,
        gate: Gate::new(12, b"").and(|p| p.has(b'&') && p.has(b';') || p.has(b'=')),
    },
    Detector {
        category: "secret_assignment",
        group: "credential",
        severity: "critical",
        find: secret_assignment,
        gate: Gate::new(12, b"=").digits(1),
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

/// Whether `d` finds a secret or a credential in text as it is written: every such detector
/// but those that decode base64, hex or escapes to read what they hold (which a reading that
/// decodes them itself leaves out).
pub(crate) fn reads_secrets_as_written(d: &Detector) -> bool {
    matches!(d.group, "secret" | "credential")
        && !matches!(d.category, "encoded_secret" | "escaped_secret")
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
/// A span that overlaps one found before (by an earlier detector) is dropped.
fn scan_gated(detectors: &[Detector], text: &str, run: impl Fn(&Detector) -> bool) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut spans = Vec::new();
    // The spans kept, start to end: they do not overlap, so a new span overlaps one of them
    // only if it overlaps the last that starts before its end (a lookup, not a pass over all:
    // a text with thousands of addresses is not read quadratically).
    let mut kept: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    for d in detectors.iter().filter(|d| run(d)) {
        spans.clear();
        (d.find)(text, &mut spans);
        for span in spans.drain(..) {
            let overlaps = kept
                .range(..span.end)
                .next_back()
                .is_some_and(|(_, &end)| span.start < end);
            if overlaps {
                continue;
            }
            kept.insert(span.start, span.end);
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

mod assign;
mod encoded;
mod escaped;
mod finders;
mod keys;
#[cfg(test)]
mod tests;

use self::assign::secret_assignment;
use self::encoded::encoded_secret;
#[cfg(feature = "server")]
pub(crate) use self::encoded::{
    Inflation, embedded_texts, encoded_texts, may_inflate, rtf_in, wide_strings,
};
#[cfg(feature = "server")]
pub(crate) use self::escaped::Unescaped;
use self::escaped::escaped_secret;
use self::finders::*;
use self::keys::*;

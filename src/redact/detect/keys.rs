//! Secrets known by their shape: a vendor's prefix (`sk-`, `gsk_`, `ghp_`) and a run of
//! token characters, or a fixed form (`AKIA` and 16 more, SendGrid's two parts).
//!
//! Uses nothing but the standard library and the scanning helpers of [`finders`](super::finders).

use std::ops::Range;

use super::finders::{is_token, prefixed, prefixed_any, run, starts_of, word_start};

pub(super) fn openai_key(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed(text, "sk-", 20, out);
}

pub(super) fn anthropic_key(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed(text, "sk-ant-", 20, out);
}

pub(super) fn github_token(text: &str, out: &mut Vec<Range<usize>>) {
    let prefixes = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"];
    prefixed_any(text, &prefixes, 30, out);
}

pub(super) fn slack_token(text: &str, out: &mut Vec<Range<usize>>) {
    let prefixes = ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xapp-"];
    prefixed_any(text, &prefixes, 10, out);
}

/// Stripe's secret and restricted keys: `sk_live_`, `sk_test_`, `rk_live_`, `rk_test_` and at
/// least 16 more token characters.
pub(super) fn stripe_key(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed_any(text, &["sk_live_", "sk_test_"], 16, out);
    prefixed_any(text, &["rk_live_", "rk_test_"], 16, out);
}

/// A Hugging Face access token: `hf_` and at least 30 letters or digits.
pub(super) fn huggingface_token(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed(text, "hf_", 30, out);
}

/// A GitLab token: `glpat-` (personal), `gldt-` (deploy), `glrt-` (runner) and at least 20
/// more token characters.
pub(super) fn gitlab_token(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed_any(text, &["glpat-", "gldt-", "glrt-"], 20, out);
}

/// An npm access token: `npm_` and 36 letters or digits.
pub(super) fn npm_token(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed(text, "npm_", 36, out);
}

/// A SendGrid API key: `SG.`, 22 token characters, `.`, 43 token characters.
pub(super) fn sendgrid_key(text: &str, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    for (i, _) in starts_of(text, &["SG."]) {
        let id = run(b, i + 3, is_token);
        let dot = i + 3 + id;
        if !word_start(b, i) || id != 22 || b.get(dot) != Some(&b'.') {
            continue;
        }
        let key = run(b, dot + 1, is_token);
        if key == 43 {
            out.push(i..dot + 1 + key);
        }
    }
}

/// `AKIA`/`ASIA` and 16 upper-case letters or digits, as a whole word.
pub(super) fn aws_access_key(text: &str, out: &mut Vec<Range<usize>>) {
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
pub(super) fn google_api_key(text: &str, out: &mut Vec<Range<usize>>) {
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

/// A Groq API key: `gsk_` and 52 letters or digits.
pub(super) fn groq_key(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed(text, "gsk_", 48, out);
}

/// An xAI API key: `xai-` and 80 letters or digits.
pub(super) fn xai_key(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed(text, "xai-", 48, out);
}

/// A Perplexity API key: `pplx-` and 48 letters or digits.
pub(super) fn perplexity_key(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed(text, "pplx-", 40, out);
}

/// A Replicate API token: `r8_` and 37 letters or digits.
pub(super) fn replicate_token(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed(text, "r8_", 32, out);
}

/// A Together AI key: `tgp_v1_` and 43 token characters.
pub(super) fn together_key(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed(text, "tgp_v1_", 32, out);
}

/// A LangSmith key: `lsv2_pt_` (personal) or `lsv2_sk_` (service), 32 hex digits, `_` and
/// 10 more.
pub(super) fn langsmith_key(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed_any(text, &["lsv2_pt_", "lsv2_sk_"], 32, out);
}

/// A Pinecone API key: `pcsk_` and its two token parts.
pub(super) fn pinecone_key(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed(text, "pcsk_", 40, out);
}

/// A Tavily API key (an agent's web search): `tvly-` and at least 20 token characters
/// (`tvly-dev-…`, `tvly-prod-…`).
pub(super) fn tavily_key(text: &str, out: &mut Vec<Range<usize>>) {
    prefixed(text, "tvly-", 20, out);
}

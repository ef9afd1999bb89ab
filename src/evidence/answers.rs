//! Model answers not given whole: refused or filtered by the provider, stopped at the length
//! limit, broken off by an error the provider reported in them, or not read to their end. A
//! decision that rests on one rests on less than the model would have said, which the
//! auditor's report and `acttrace stats` say.
//!
//! Uses the JSON model: it reads an `llm_call`'s payload.

use crate::json::value::{Map, Value};

/// Why a model's answer was not given whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Short {
    /// The provider refused it or filtered it (`content_filter`, `refusal`, `SAFETY`,
    /// `guardrail_intervened`, ...).
    Refused,
    /// It stopped at the length limit (`length`, `max_tokens`, `max_output_tokens`, ...).
    Truncated,
    /// The provider reported an error in it (`error_in_response`).
    Broken,
    /// The caller stopped reading it (`cut_short`).
    Abandoned,
}

impl Short {
    /// The group of a recorded finish reason, if it says the answer was not whole.
    pub(crate) fn of(reason: &str) -> Option<Self> {
        const REFUSED: &[&str] = &[
            "content_filter",
            "content_filtered",
            "refusal",
            "safety",
            "image_safety",
            "recitation",
            "blocklist",
            "prohibited_content",
            "spii",
            "guardrail_intervened",
            "error_toxic",
        ];
        const TRUNCATED: &[&str] = &[
            "length",
            "max_tokens",
            "max_output_tokens",
            "model_context_window_exceeded",
            "error_limit",
        ];
        // Cohere's `ERROR`, Gemini's `MALFORMED_FUNCTION_CALL`, the Responses API's `failed`.
        const BROKEN: &[&str] = &["error", "malformed_function_call", "failed"];
        let is = |list: &[&str]| list.iter().any(|r| r.eq_ignore_ascii_case(reason));
        if is(REFUSED) {
            Some(Self::Refused)
        } else if is(TRUNCATED) {
            Some(Self::Truncated)
        } else if is(BROKEN) {
            Some(Self::Broken)
        } else {
            None
        }
    }

    pub(crate) fn says(self) -> &'static str {
        match self {
            Self::Refused => "refused or filtered by the provider",
            Self::Truncated => "stopped at the length limit",
            Self::Broken => "broken off by an error the provider reported",
            Self::Abandoned => "not read to its end by the caller",
        }
    }
}

impl Short {
    /// Why an `llm_call` (its payload) was not given whole, each reason with the text recorded
    /// (`content_filter`, `error_in_response`, `cut_short`), each once; none for a whole one.
    pub(crate) fn of_call(call: &Map) -> Vec<(Self, String)> {
        let mut seen = Vec::new();
        if let Some(Value::Array(reasons)) = call.get("finish_reasons") {
            for reason in reasons.iter().filter_map(Value::as_str) {
                if let Some(why) = Self::of(reason) {
                    seen.push((why, reason.to_owned()));
                }
            }
        }
        if call.get("error").and_then(Value::as_str) == Some("error_in_response") {
            seen.push((Self::Broken, "error_in_response".to_owned()));
        }
        if call.get("cut_short") == Some(&Value::Bool(true)) {
            seen.push((Self::Abandoned, "cut_short".to_owned()));
        }
        seen.dedup();
        seen
    }
}

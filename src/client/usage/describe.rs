//! What an answer says of itself beside its usage: its id, why it stopped, the error it
//! reports and the tools it asks for, read the same way for every API.

use super::Observed;
use crate::json::parse::Node;

/// The members of one object that describing an answer looks at, found in one pass.
#[derive(Default, Clone, Copy)]
struct Fields<'t> {
    id: Option<Node<'t>>,
    response_id: Option<Node<'t>>,
    call_id: Option<Node<'t>>,
    kind: Option<Node<'t>>,
    name: Option<Node<'t>>,
    choices: Option<Node<'t>>,
    candidates: Option<Node<'t>>,
    message: Option<Node<'t>>,
    message_text: Option<Node<'t>>,
    response: Option<Node<'t>>,
    delta: Option<Node<'t>>,
    finish_reason: Option<Node<'t>>,
    stop_reason: Option<Node<'t>>,
    stop_reason_camel: Option<Node<'t>>,
    done_reason: Option<Node<'t>>,
    error: Option<Node<'t>>,
    content: Option<Node<'t>>,
    output: Option<Node<'t>>,
    parts: Option<Node<'t>>,
    tool_calls: Option<Node<'t>>,
    function: Option<Node<'t>>,
    function_call: Option<Node<'t>>,
}

impl<'t> Fields<'t> {
    fn of(v: Node<'t>) -> Self {
        let mut f = Self::default();
        for (key, value) in v.members() {
            let slot = match key.raw() {
                "id" => &mut f.id,
                "responseId" => &mut f.response_id,
                "call_id" => &mut f.call_id,
                "type" => &mut f.kind,
                "name" => &mut f.name,
                "choices" => &mut f.choices,
                "candidates" => &mut f.candidates,
                "message" => {
                    // An object (a wrapped message) or a string (an error's text).
                    if value.is_object() {
                        &mut f.message
                    } else {
                        &mut f.message_text
                    }
                }
                "response" => &mut f.response,
                "delta" => &mut f.delta,
                "finish_reason" | "finishReason" => &mut f.finish_reason,
                "stop_reason" => &mut f.stop_reason,
                "stopReason" => &mut f.stop_reason_camel,
                "done_reason" => &mut f.done_reason,
                "error" => &mut f.error,
                "content" => &mut f.content,
                "output" => &mut f.output,
                "parts" => &mut f.parts,
                "tool_calls" => &mut f.tool_calls,
                "function" => &mut f.function,
                "functionCall" => &mut f.function_call,
                _ => continue,
            };
            *slot = Some(value);
        }
        f
    }
}

impl Observed {
    const MAX_REASONS: usize = 8;
    const MAX_ERROR: usize = 200;
    const MAX_TOOL_CALLS: usize = 32;

    /// The id, finish reasons, error message and tool calls of any API's answer: what
    /// OpenTelemetry's GenAI conventions call `gen_ai.response.id` and
    /// `gen_ai.response.finish_reasons`, and the tools asked for (OpenAI's
    /// `choices[].message.tool_calls`, the Responses API's `function_call` outputs,
    /// Anthropic's `tool_use` blocks, Gemini's `functionCall` parts, the `tool_calls` of
    /// Cohere's and Ollama's message). One pass over the answer's top level and over its
    /// message, however many fields it has.
    pub(super) fn describe(&mut self, v: Node<'_>) {
        let top = Fields::of(v);
        let delta = top.delta.map(Fields::of);
        let inner = top.message.or(top.response).map(Fields::of);
        let inner = inner.as_ref().unwrap_or(&top);
        if self.response_id.is_none() {
            self.response_id = text(top.id)
                .or_else(|| text(inner.id))
                .or_else(|| text(top.response_id));
        }
        let mut reasons = Vec::new();
        let mut calls = Vec::new();
        for list in [top.choices, top.candidates].into_iter().flatten() {
            for c in list.items() {
                let c = Fields::of(c);
                reasons.push(text(c.finish_reason));
                if let Some(tools) = c.message.and_then(|m| Fields::of(m).tool_calls) {
                    tool_calls(tools, &mut calls);
                }
                if let Some(parts) = c.content.map(Fields::of).and_then(|c| c.parts) {
                    for part in parts.items() {
                        if let Some(call) = Fields::of(part).function_call {
                            calls.push((None, text(Fields::of(call).name)));
                        }
                    }
                }
            }
        }
        // A message's own (Cohere's v2, Ollama's), and the answer's (Cohere's v1).
        for tools in [
            top.message.and_then(|m| Fields::of(m).tool_calls),
            top.tool_calls,
        ] {
            tools.into_iter().for_each(|t| tool_calls(t, &mut calls));
        }
        reasons.push(text(inner.stop_reason));
        reasons.push(text(delta.and_then(|d| d.stop_reason)));
        // Cohere's, at the top (v1, v2) or in a v2 stream's `message-end` delta.
        reasons.push(text(top.finish_reason));
        reasons.push(text(delta.and_then(|d| d.finish_reason)));
        reasons.push(text(top.stop_reason_camel));
        reasons.push(text(top.done_reason));
        for r in reasons.into_iter().flatten() {
            if !r.is_empty()
                && self.finish_reasons.len() < Self::MAX_REASONS
                && !self.finish_reasons.contains(&r)
            {
                self.finish_reasons.push(r);
            }
        }
        for list in [inner.content, inner.output].into_iter().flatten() {
            for block in list.items() {
                let b = Fields::of(block);
                match text(b.kind).as_deref() {
                    Some("tool_use") => calls.push((text(b.id), text(b.name))),
                    Some("function_call") => calls.push((text(b.call_id), text(b.name))),
                    _ => {}
                }
            }
        }
        for (id, name) in calls {
            if let Some(name) = name
                && self.tool_calls.len() < Self::MAX_TOOL_CALLS
            {
                self.tool_calls.push((id, name));
            }
        }
        if self.error_message.is_none() {
            // `error` as a string (Ollama) or an object with a `message`; or a bare top-level
            // `message` (Cohere, AWS). Read only for a call that failed.
            let message = match top.error {
                Some(e) => text(Some(e)).or_else(|| text(Fields::of(e).message_text)),
                None => text(top.message_text),
            };
            self.error_message =
                message.map(|m| m.chars().take(Self::MAX_ERROR).collect::<String>());
        }
    }
}

fn text(n: Option<Node<'_>>) -> Option<String> {
    n.and_then(|n| n.as_str()).map(|s| s.into_owned())
}

/// A list of tool calls: each one's id (where given) and the tool's name, in its `function`
/// (OpenAI's form, which Cohere's v2 and Ollama share) or beside it (Cohere's v1).
fn tool_calls(tools: Node<'_>, calls: &mut Vec<(Option<String>, Option<String>)>) {
    for t in tools.items() {
        let t = Fields::of(t);
        let name = t.function.and_then(|f| Fields::of(f).name).or(t.name);
        calls.push((text(t.id), text(name)));
    }
}

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
    content_block: Option<Node<'t>>,
    item: Option<Node<'t>>,
    start: Option<Node<'t>>,
    tool_use: Option<Node<'t>>,
    tool_use_id: Option<Node<'t>>,
    object: Option<Node<'t>>,
    status: Option<Node<'t>>,
    incomplete_details: Option<Node<'t>>,
    reason: Option<Node<'t>>,
    prompt_feedback: Option<Node<'t>>,
    block_reason: Option<Node<'t>>,
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
                "content_block" => &mut f.content_block,
                "item" => &mut f.item,
                "start" => &mut f.start,
                "toolUse" => &mut f.tool_use,
                "toolUseId" => &mut f.tool_use_id,
                "object" => &mut f.object,
                "status" => &mut f.status,
                "incomplete_details" => &mut f.incomplete_details,
                "reason" => &mut f.reason,
                "promptFeedback" => &mut f.prompt_feedback,
                "blockReason" => &mut f.block_reason,
                _ => continue,
            };
            *slot = Some(value);
        }
        f
    }
}

impl Observed {
    const MAX_REASONS: usize = 8;
    pub(super) const MAX_ERROR: usize = 200;
    const MAX_TOOL_CALLS: usize = 32;

    /// The id, finish reasons, error message and tool calls of any API's answer or stream
    /// event: what OpenTelemetry's GenAI conventions call `gen_ai.response.id` and
    /// `gen_ai.response.finish_reasons`, and the tools asked for (see [`tool_calls`]). One
    /// pass over the answer's top level and over its message, however many fields it has.
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
        for list in [top.choices, top.candidates].into_iter().flatten() {
            for c in list.items() {
                reasons.push(text(Fields::of(c).finish_reason));
            }
        }
        reasons.push(text(inner.stop_reason));
        reasons.push(text(delta.and_then(|d| d.stop_reason)));
        // Cohere's, at the top (v1, v2) or in a v2 stream's `message-end` delta.
        reasons.push(text(top.finish_reason));
        reasons.push(text(delta.and_then(|d| d.finish_reason)));
        reasons.push(text(top.stop_reason_camel));
        reasons.push(text(top.done_reason));
        reasons.push(responses_outcome(&top, inner));
        // Gemini refused the prompt itself: no candidate says why.
        reasons.push(text(
            top.prompt_feedback.and_then(|f| Fields::of(f).block_reason),
        ));
        for r in reasons.into_iter().flatten() {
            if !r.is_empty()
                && self.finish_reasons.len() < Self::MAX_REASONS
                && !self.finish_reasons.contains(&r)
            {
                self.finish_reasons.push(r);
            }
        }
        let mut calls = Vec::new();
        tool_calls(&top, inner, delta.as_ref(), &mut calls);
        for (id, name) in calls {
            let Some(name) = name else { continue };
            // A stream names a call more than once (the Responses API's item events and its
            // `response.completed`): once is recorded.
            let again = id.is_some() && self.tool_calls.iter().any(|(i, n)| *i == id && *n == name);
            if !again && self.tool_calls.len() < Self::MAX_TOOL_CALLS {
                self.tool_calls.push((id, name));
            }
        }
        self.read_error(&top, inner, delta.as_ref());
    }

    /// An error the answer reports: an `error` member that is an object (with a `message`) or
    /// a string, as Ollama's (not `null`, `false` or `""`, which some servers send in a good
    /// answer) at the top, in the wrapped response (the
    /// Responses API's `response.failed`) or in a stream's delta (Cohere's `message-end`), or
    /// an event of type `error` (Anthropic's, the Responses API's). Such an answer failed,
    /// whatever its status said: [`Observed::failed_in_body`]. A bare top-level `message`
    /// (Cohere's and AWS's error bodies) is read as the message of a call whose status failed.
    fn read_error(&mut self, top: &Fields<'_>, inner: &Fields<'_>, delta: Option<&Fields<'_>>) {
        let member = [top.error, inner.error, delta.and_then(|d| d.error)]
            .into_iter()
            .flatten()
            .find(|e| e.is_object() || text(Some(*e)).is_some_and(|m| !m.is_empty()));
        let said = member.map(|e| text(Some(e)).or_else(|| text(Fields::of(e).message_text)));
        let typed = text(top.kind).as_deref() == Some("error");
        let cut = |m: String| m.chars().take(Self::MAX_ERROR).collect::<String>();
        if (member.is_some() || typed) && !self.failed_in_body {
            // The first error reported outranks a message read before it.
            self.failed_in_body = true;
            self.error_message = said.flatten().or_else(|| text(top.message_text)).map(cut);
        } else if self.error_message.is_none() {
            self.error_message = said.flatten().or_else(|| text(top.message_text)).map(cut);
        }
    }
}

/// The tool calls an answer, or one event of a stream, names: each one's id (where given) and
/// the tool's name, never its arguments.
///
/// - OpenAI's chat: `choices[].message.tool_calls`, and a stream's `choices[].delta.tool_calls`
///   (the first delta of each call names it; the rest carry arguments only);
/// - the Responses API: `function_call` items in `output`, a stream's `item`;
/// - Anthropic's (Claude on Bedrock and Vertex AI too): `tool_use` blocks in `content`, a
///   stream's `content_block`;
/// - Gemini's: `functionCall` parts;
/// - Bedrock's `converse`: `toolUse` blocks in `output.message.content`, a stream's
///   `contentBlockStart` (`start.toolUse`);
/// - Cohere's: the message's `tool_calls` (v2; a stream's `tool-call-start` delta names one),
///   the answer's (v1); Ollama's: the message's.
fn tool_calls<'t>(
    top: &Fields<'t>,
    inner: &Fields<'t>,
    delta: Option<&Fields<'t>>,
    calls: &mut Vec<(Option<String>, Option<String>)>,
) {
    for list in [top.choices, top.candidates].into_iter().flatten() {
        for c in list.items() {
            let c = Fields::of(c);
            for m in [c.message, c.delta].into_iter().flatten() {
                if let Some(tools) = Fields::of(m).tool_calls {
                    function_calls(tools, calls);
                }
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
    let message = |m: Option<Node<'t>>| m.and_then(|m| Fields::of(m).tool_calls);
    let streamed = delta.and_then(|d| message(d.message));
    for tools in [message(top.message), top.tool_calls, streamed]
        .into_iter()
        .flatten()
    {
        function_calls(tools, calls);
    }
    let bedrock = top
        .output
        .filter(Node::is_object)
        .and_then(|o| Fields::of(o).message)
        .and_then(|m| Fields::of(m).content);
    let mut blocks: Vec<Node<'t>> = [top.content_block, top.item, top.start]
        .into_iter()
        .flatten()
        .collect();
    for list in [inner.content, inner.output, bedrock].into_iter().flatten() {
        blocks.extend(list.items());
    }
    for block in blocks {
        let b = Fields::of(block);
        match text(b.kind).as_deref() {
            Some("tool_use") => calls.push((text(b.id), text(b.name))),
            Some("function_call") => calls.push((text(b.call_id), text(b.name))),
            _ => {
                if let Some(t) = b.tool_use.map(Fields::of) {
                    calls.push((text(t.tool_use_id), text(t.name)));
                }
            }
        }
    }
}

/// How a Responses API answer ended, which it says by its `status`, not a finish reason: why it
/// is incomplete (`max_output_tokens`, `content_filter`), else a final status (`completed`,
/// `failed`, `cancelled`); nothing while it is `queued` or `in_progress`.
fn responses_outcome(top: &Fields<'_>, inner: &Fields<'_>) -> Option<String> {
    let response = top.response.is_some() || text(top.object).as_deref() == Some("response");
    if !response {
        return None;
    }
    let why = inner
        .incomplete_details
        .and_then(|d| text(Fields::of(d).reason));
    why.or_else(|| {
        text(inner.status).filter(|s| {
            matches!(
                s.as_str(),
                "completed" | "failed" | "cancelled" | "incomplete"
            )
        })
    })
}

fn text(n: Option<Node<'_>>) -> Option<String> {
    n.and_then(|n| n.as_str()).map(|s| s.into_owned())
}

/// A list of tool calls (or one, as a Cohere stream's delta names it): each one's id (where
/// given) and the tool's name, in its `function` (OpenAI's form, which Cohere's v2 and Ollama
/// share) or beside it (Cohere's v1).
fn function_calls(tools: Node<'_>, calls: &mut Vec<(Option<String>, Option<String>)>) {
    let one = tools.is_object().then_some(tools);
    for t in tools.items().chain(one) {
        let t = Fields::of(t);
        let name = t.function.and_then(|f| Fields::of(f).name).or(t.name);
        calls.push((text(t.id), text(name)));
    }
}

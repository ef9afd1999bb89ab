//! Reading token usage from provider responses as their bytes pass.
//!
//! A [`Scanner`] is fed each chunk of a response body in order and keeps only what it needs:
//! the current partial line or event (capped), and the few events that can carry usage or the
//! model (capped), which it parses when the body is over: on the writer thread, off the
//! caller's path. On the way it only frames events and looks for a few bytes in them. It
//! holds no message content beyond the event it is framing and the kept ones (which carry
//! usage, or are the first to name a model, and may hold a little of the answer: they are read
//! for the model and usage alone, and nothing else of them is recorded). It never delays a
//! byte: the tap hands every chunk on unchanged first, and feeds it only once the caller waits
//! for the network (or, at the body's end, on the writer thread).

use std::collections::VecDeque;
use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::recognize::Api;
use crate::chain::Usage;
use crate::json::parse::{Node, Tape, Tok};

/// The largest single event (SSE event, NDJSON line, event-stream message) parsed for usage.
/// Larger ones are skipped (and counted); usage events are small.
const EVENT_CAP: usize = 256 << 10;
/// The largest non-streamed JSON body kept to read usage from at its end.
const JSON_CAP: usize = 8 << 20;
/// The most of a stream's relevant events kept unparsed; past it the oldest are parsed as new
/// ones come.
const KEEP_CAP: usize = 256 << 10;

/// How a response body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// One JSON document (read at the end).
    Json,
    /// `text/event-stream`.
    Sse,
    /// Newline-delimited JSON (Ollama).
    Ndjson,
    /// AWS `application/vnd.amazon.eventstream` (Bedrock `converse-stream`).
    EventStream,
}

impl Format {
    /// The format a response is read in: by its media type, and where that says nothing, by
    /// whether the request asked for a stream (`stream`, asked only then).
    pub(crate) fn from_content_type(
        content_type: Option<&[u8]>,
        api: Api,
        stream: impl FnOnce() -> bool,
    ) -> Self {
        let ct = content_type.unwrap_or_default();
        // Media types are case-insensitive; compared in place, without a lower-cased copy.
        let is = |prefix: &str| {
            ct.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
        };
        if is("text/event-stream") {
            Self::Sse
        } else if is("application/vnd.amazon.eventstream") {
            Self::EventStream
        } else if is("application/x-ndjson")
            || (api == Api::OllamaNative
                && !ct.windows(4).any(|w| w.eq_ignore_ascii_case(b"json"))
                && stream())
        {
            Self::Ndjson
        } else {
            Self::Json
        }
    }

    pub(crate) fn is_stream(self) -> bool {
        self != Self::Json
    }
}

/// What was seen of a response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Observed {
    input: Option<u64>,
    output: Option<u64>,
    cached: Option<u64>,
    reasoning: Option<u64>,
    cache_write: Option<u64>,
    /// Gemini reports thinking tokens apart from the answer's.
    thoughts: Option<u64>,
    pub(crate) response_model: Option<String>,
    /// A cost the gateway reported itself (OpenRouter's `usage.cost`), as it printed it.
    pub(crate) reported_cost: Option<String>,
    pub(crate) events: u64,
    pub(crate) oversized: u64,
}

impl Observed {
    pub(crate) fn saw_usage(&self) -> bool {
        self.input.is_some() || self.output.is_some()
    }

    /// Usage in the chain's terms: `input_tokens` counts every prompt token (cached and
    /// cache-written ones included), `output_tokens` every generated one (reasoning included).
    pub(crate) fn usage(&self, api: Api) -> Usage {
        let cached = self.cached.unwrap_or(0);
        let cache_write = self.cache_write.unwrap_or(0);
        let raw_input = self.input.unwrap_or(0);
        let (input, output, reasoning) = match api {
            // These report cache reads and writes apart from `input_tokens`.
            Api::AnthropicMessages | Api::BedrockConverse => (
                raw_input + cached + cache_write,
                self.output.unwrap_or(0),
                self.reasoning.unwrap_or(0),
            ),
            Api::GeminiGenerate => {
                let thoughts = self.thoughts.unwrap_or(0);
                (raw_input, self.output.unwrap_or(0) + thoughts, thoughts)
            }
            _ => (
                raw_input,
                self.output.unwrap_or(0),
                self.reasoning.unwrap_or(0),
            ),
        };
        Usage {
            input_tokens: input,
            output_tokens: output,
            cached_tokens: cached,
            reasoning_tokens: reasoning,
            cache_write,
        }
    }
}

/// Incremental usage reader for one response body.
#[derive(Debug)]
pub(crate) struct Scanner {
    api: Api,
    format: Format,
    /// The partial line (SSE, NDJSON), the unparsed frames (event-stream) or the whole body
    /// (JSON).
    buf: Vec<u8>,
    /// SSE: whether the current event has an `event:` line (its name is not needed), and its
    /// data.
    named: bool,
    data: Vec<u8>,
    /// The events that can carry what is recorded, unparsed (parsing is the one costly step,
    /// left to [`finish`](Self::finish)), and their length.
    kept: VecDeque<Vec<u8>>,
    kept_len: usize,
    /// An event that names a model has been kept: later ones are kept only for usage.
    model_kept: bool,
    /// Discarding an oversized line or event until its end.
    skipping: bool,
    /// The last chunk ended with `\r`: a `\n` starting the next one belongs to it.
    after_cr: bool,
    /// Reused for every event parsed: tokens point into the event's bytes, nothing is copied.
    tape: Tape,
    pub(crate) observed: Observed,
}

impl Scanner {
    pub(crate) fn new(api: Api, format: Format) -> Self {
        Self {
            api,
            format,
            buf: Vec::new(),
            named: false,
            data: Vec::new(),
            kept: VecDeque::new(),
            kept_len: 0,
            model_kept: false,
            skipping: false,
            after_cr: false,
            tape: Tape::default(),
            observed: Observed::default(),
        }
    }

    /// Reads the body as `format` instead: what the response's head said, known only once it
    /// has come. Called before the first chunk, it is the same as starting over.
    pub(crate) fn frame_as(&mut self, format: Format) {
        debug_assert!(
            self.buf.is_empty() && self.kept.is_empty() && self.observed == Observed::default()
        );
        self.format = format;
    }

    /// Takes the next chunk of the body.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        match self.format {
            Format::Json => {
                if self.buf.len() + chunk.len() <= JSON_CAP {
                    self.buf.extend_from_slice(chunk);
                } else if !self.skipping {
                    self.skipping = true;
                    self.observed.oversized += 1;
                    self.buf = Vec::new();
                }
            }
            Format::Sse | Format::Ndjson => self.feed_lines(chunk),
            Format::EventStream => {
                self.buf.extend_from_slice(chunk);
                self.drain_event_stream();
            }
        }
    }

    /// The body ended: whatever is pending is complete, and what was kept is parsed now.
    pub(crate) fn finish(&mut self) {
        match self.format {
            Format::Json => {
                if !self.skipping {
                    let body = std::mem::take(&mut self.buf);
                    // An array is Gemini's streamed JSON without `alt=sse`.
                    self.parse_and_apply(&body, true);
                }
            }
            Format::Sse | Format::Ndjson => {
                if !self.buf.is_empty() {
                    let line = std::mem::take(&mut self.buf);
                    self.line(&line);
                }
                if self.format == Format::Sse {
                    self.dispatch();
                }
            }
            Format::EventStream => self.drain_event_stream(),
        }
        self.parse_kept();
    }

    fn feed_lines(&mut self, mut chunk: &[u8]) {
        if std::mem::take(&mut self.after_cr) && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        while !chunk.is_empty() {
            match memchr::memchr2(b'\n', b'\r', chunk) {
                Some(i) => {
                    let (head, rest) = (&chunk[..i], &chunk[i + 1..]);
                    if self.skipping {
                        self.skipping = false;
                        self.buf.clear();
                    } else if self.buf.is_empty() {
                        self.line(head);
                    } else {
                        self.buf.extend_from_slice(head);
                        let line = std::mem::take(&mut self.buf);
                        self.line(&line);
                    }
                    // `\r\n` is one line break, also when a chunk ends between the two: the
                    // empty "line" between them must not end an SSE event early.
                    if chunk[i] == b'\r' && rest.is_empty() {
                        self.after_cr = true;
                    }
                    chunk = if chunk[i] == b'\r' && rest.first() == Some(&b'\n') {
                        &rest[1..]
                    } else {
                        rest
                    };
                }
                None => {
                    if !self.skipping {
                        if self.buf.len() + chunk.len() > EVENT_CAP {
                            self.skipping = true;
                            self.observed.oversized += 1;
                            self.buf.clear();
                        } else {
                            self.buf.extend_from_slice(chunk);
                        }
                    }
                    return;
                }
            }
        }
    }

    fn line(&mut self, line: &[u8]) {
        if self.format == Format::Ndjson {
            if !line.iter().all(u8::is_ascii_whitespace) {
                self.observed.events += 1;
                if relevant(self.api, &mut self.model_kept, line) {
                    self.keep(line.to_vec());
                }
            }
            return;
        }
        if line.is_empty() {
            self.dispatch();
            return;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(0) => return, // a comment
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"event" => self.named = !value.is_empty(),
            b"data" => {
                if self.data.len() + value.len() + 1 > EVENT_CAP {
                    self.observed.oversized += 1;
                    self.data.clear();
                    self.named = false;
                } else {
                    if !self.data.is_empty() {
                        self.data.push(b'\n');
                    }
                    self.data.extend_from_slice(value);
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self) {
        if self.data.is_empty() && !self.named {
            return;
        }
        self.observed.events += 1;
        self.named = false;
        if self.data != b"[DONE]" && relevant(self.api, &mut self.model_kept, &self.data) {
            let data = std::mem::take(&mut self.data);
            self.keep(data);
        } else {
            self.data.clear(); // its room is reused by the next event
        }
    }

    /// Keeps an event to parse at the end. Past [`KEEP_CAP`] (a long stream whose every event
    /// mentions usage, as Gemini's do), the oldest are parsed now, as new ones come: an event's
    /// parse for each, as if none were kept, never a burst of them.
    fn keep(&mut self, data: Vec<u8>) {
        self.kept_len += data.len();
        self.kept.push_back(data);
        while self.kept_len > KEEP_CAP
            && let Some(oldest) = self.kept.pop_front()
        {
            self.kept_len -= oldest.len();
            self.parse_and_apply(&oldest, false);
        }
    }

    /// Parses the kept events, in the order they came.
    fn parse_kept(&mut self) {
        while let Some(data) = self.kept.pop_front() {
            self.parse_and_apply(&data, false);
        }
        self.kept_len = 0;
    }

    /// Parses `bytes` as one JSON text and records what it carries; with `each_item`, the items
    /// of a top-level array one by one. Text that is not JSON records nothing.
    fn parse_and_apply(&mut self, bytes: &[u8], each_item: bool) {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return;
        };
        let mut tape = std::mem::take(&mut self.tape);
        if let Ok(root) = tape.parse(text) {
            if each_item && root.is_array() {
                root.items().for_each(|item| self.apply(item));
            } else {
                self.apply(root);
            }
        }
        self.tape = tape;
    }

    /// Bedrock's binary framing: prelude (total length, headers length, CRC), headers,
    /// payload, CRC. Only `metadata` events (usage) are parsed.
    fn drain_event_stream(&mut self) {
        loop {
            if self.buf.len() < 12 {
                return;
            }
            let total =
                u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
            let headers_len =
                u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
            if !(16..=EVENT_CAP).contains(&total) || headers_len > total - 16 {
                // Not a frame we can follow: stop reading this body rather than guess.
                self.observed.oversized += 1;
                self.buf = Vec::new();
                self.format = Format::Json;
                self.skipping = true;
                return;
            }
            if self.buf.len() < total {
                return;
            }
            let frame: Vec<u8> = self.buf.drain(..total).collect();
            self.observed.events += 1;
            let headers = &frame[12..12 + headers_len];
            let payload = &frame[12 + headers_len..total - 4];
            if event_type(headers).as_deref() == Some("metadata") {
                self.keep(payload.to_vec());
            }
        }
    }

    fn apply(&mut self, v: Node<'_>) {
        let o = &mut self.observed;
        let n = |v: Node<'_>, path: &str| lookup(v, path).and_then(as_u64);
        let set = |slot: &mut Option<u64>, value: Option<u64>| {
            if value.is_some() {
                *slot = value;
            }
        };
        let mut model = |m: Option<Node<'_>>| {
            if let Some(m) = m.and_then(|m| m.as_str()) {
                o.response_model.get_or_insert_with(|| m.into_owned());
            }
        };
        match self.api {
            Api::OpenAiChat | Api::OpenAiEmbeddings => {
                model(v.get("model"));
                let usage = v
                    .get("usage")
                    .filter(Node::is_object)
                    .or_else(|| lookup(v, "/x_groq/usage"));
                if let Some(u) = usage {
                    set(
                        &mut o.input,
                        n(u, "/prompt_tokens").or_else(|| n(u, "/input_tokens")),
                    );
                    set(
                        &mut o.output,
                        n(u, "/completion_tokens").or_else(|| n(u, "/output_tokens")),
                    );
                    set(&mut o.cached, n(u, "/prompt_tokens_details/cached_tokens"));
                    set(
                        &mut o.reasoning,
                        n(u, "/completion_tokens_details/reasoning_tokens"),
                    );
                    if o.output.is_none() && o.input.is_some() {
                        o.output = Some(0); // embeddings
                    }
                    if let Some(cost) = u.get("cost").and_then(decimal) {
                        o.reported_cost = Some(format!("{cost} USD"));
                    }
                }
            }
            Api::OpenAiResponses => {
                let r = v.get("response").unwrap_or(v);
                model(r.get("model"));
                if let Some(u) = r.get("usage").filter(Node::is_object) {
                    set(&mut o.input, n(u, "/input_tokens"));
                    set(&mut o.output, n(u, "/output_tokens"));
                    set(&mut o.cached, n(u, "/input_tokens_details/cached_tokens"));
                    set(
                        &mut o.reasoning,
                        n(u, "/output_tokens_details/reasoning_tokens"),
                    );
                }
            }
            Api::AnthropicMessages => {
                // `message_start` wraps the message; `message_delta` and plain responses do not.
                let m = v.get("message").unwrap_or(v);
                model(m.get("model"));
                if let Some(u) = m.get("usage").filter(Node::is_object) {
                    set(&mut o.input, n(u, "/input_tokens"));
                    set(&mut o.output, n(u, "/output_tokens"));
                    set(&mut o.cached, n(u, "/cache_read_input_tokens"));
                    set(&mut o.cache_write, n(u, "/cache_creation_input_tokens"));
                }
            }
            Api::GeminiGenerate => {
                model(v.get("modelVersion"));
                if let Some(u) = v.get("usageMetadata") {
                    set(&mut o.input, n(u, "/promptTokenCount"));
                    set(&mut o.output, n(u, "/candidatesTokenCount").or(Some(0)));
                    set(&mut o.cached, n(u, "/cachedContentTokenCount"));
                    set(&mut o.thoughts, n(u, "/thoughtsTokenCount"));
                }
            }
            Api::BedrockConverse => {
                if let Some(u) = v.get("usage") {
                    set(&mut o.input, n(u, "/inputTokens"));
                    set(&mut o.output, n(u, "/outputTokens"));
                    set(&mut o.cached, n(u, "/cacheReadInputTokens"));
                    set(&mut o.cache_write, n(u, "/cacheWriteInputTokens"));
                }
            }
            Api::OllamaNative => {
                model(v.get("model"));
                set(&mut o.input, n(v, "/prompt_eval_count"));
                set(&mut o.output, n(v, "/eval_count"));
            }
        }
    }
}

/// The searches [`relevant`] makes in every event, built once: `memmem::find` would build
/// each anew (and copy its needle) for every event.
static MODEL: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"model"));
static USAGE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"sage"));
static EVAL_COUNT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"eval_count"));

/// Whether an event can carry what is recorded: the first one that names a model (`"model`,
/// `"modelVersion`), and any that mentions usage (`usage`, `usageMetadata`; Ollama's
/// `eval_count`). Deltas of generated text are not kept.
fn relevant(api: Api, model_kept: &mut bool, data: &[u8]) -> bool {
    if !*model_kept && MODEL.find(data).is_some() {
        *model_kept = true;
        return true;
    }
    USAGE.find(data).is_some() || (api == Api::OllamaNative && EVAL_COUNT.find(data).is_some())
}

/// The `:event-type` header of an AWS event-stream message.
fn event_type(mut h: &[u8]) -> Option<String> {
    while let Some((&name_len, rest)) = h.split_first() {
        let name_len = usize::from(name_len);
        let name = rest.get(..name_len)?;
        let (&kind, rest) = rest.get(name_len..)?.split_first()?;
        let (value, rest) = match kind {
            0 | 1 => (&[][..], rest),
            2 => rest.split_at_checked(1)?,
            3 => rest.split_at_checked(2)?,
            4 => rest.split_at_checked(4)?,
            5 | 8 => rest.split_at_checked(8)?,
            9 => rest.split_at_checked(16)?,
            6 | 7 => {
                let len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
                rest.get(2..)?.split_at_checked(len)?
            }
            _ => return None,
        };
        if name == b":event-type" && kind == 7 {
            return Some(String::from_utf8_lossy(value).into_owned());
        }
        h = rest;
    }
    None
}

/// The value at a JSON-pointer-like `path` of object keys (`/usage/prompt_tokens`).
fn lookup<'t>(v: Node<'t>, path: &str) -> Option<Node<'t>> {
    path.split('/')
        .filter(|k| !k.is_empty())
        .try_fold(v, |node, key| node.get(key))
}

/// A non-negative integer that fits `u64`, as `serde_json`'s `as_u64` reads one.
fn as_u64(v: Node<'_>) -> Option<u64> {
    v.int_text()?.parse().ok()
}

/// A number as a plain decimal (`0.0000245`, never `2.45e-05`): an integer's own digits, a
/// float's shortest round-trip digits.
fn decimal(v: Node<'_>) -> Option<String> {
    match v.tok() {
        Tok::Int { .. } => v.int_text().map(str::to_owned),
        Tok::Float(f) if f.is_finite() => Some(crate::json::canonical::plain_decimal(f)),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_media_type_in_any_case() {
        let of = |ct: Option<&str>, api, stream: bool| {
            Format::from_content_type(ct.map(str::as_bytes), api, || stream)
        };
        let chat = Api::OpenAiChat;
        assert_eq!(of(Some("text/event-stream"), chat, false), Format::Sse);
        assert_eq!(
            of(Some("Text/Event-Stream; charset=utf-8"), chat, false),
            Format::Sse
        );
        assert_eq!(
            of(
                Some("application/vnd.amazon.eventstream"),
                Api::BedrockConverse,
                true
            ),
            Format::EventStream
        );
        assert_eq!(of(Some("APPLICATION/X-NDJSON"), chat, true), Format::Ndjson);
        assert_eq!(of(Some("application/json"), chat, true), Format::Json);
        assert_eq!(of(None, chat, true), Format::Json);
        assert_eq!(of(Some("text/event"), chat, false), Format::Json);
        // Ollama streams lines unless its answer says JSON.
        let ollama = Api::OllamaNative;
        assert_eq!(of(None, ollama, true), Format::Ndjson);
        assert_eq!(of(Some("text/plain"), ollama, true), Format::Ndjson);
        assert_eq!(
            of(Some("Application/JSON; charset=utf-8"), ollama, true),
            Format::Json
        );
        assert_eq!(of(None, ollama, false), Format::Json);
    }

    /// Feeds `body` split at every byte position (and as one piece) and checks each gives the
    /// same result.
    pub(crate) fn scan_all_splits(api: Api, format: Format, body: &[u8]) -> Observed {
        let mut whole = Scanner::new(api, format);
        whole.feed(body);
        whole.finish();
        for cut in 1..body.len() {
            let mut s = Scanner::new(api, format);
            s.feed(&body[..cut]);
            s.feed(&body[cut..]);
            s.finish();
            assert_eq!(s.observed, whole.observed, "split at {cut}");
        }
        // And byte by byte.
        let mut s = Scanner::new(api, format);
        for b in body {
            s.feed(std::slice::from_ref(b));
        }
        s.finish();
        assert_eq!(s.observed, whole.observed, "byte by byte");
        whole.observed
    }

    #[test]
    fn openai_stream_with_include_usage() {
        let body = b"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n\
data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{\"prompt_tokens\":1200,\"completion_tokens\":300,\"total_tokens\":1500,\"prompt_tokens_details\":{\"cached_tokens\":1000},\"completion_tokens_details\":{\"reasoning_tokens\":128}}}\n\n\
data: [DONE]\n\n";
        let o = scan_all_splits(Api::OpenAiChat, Format::Sse, body);
        let u = o.usage(Api::OpenAiChat);
        assert_eq!(
            (
                u.input_tokens,
                u.output_tokens,
                u.cached_tokens,
                u.reasoning_tokens
            ),
            (1200, 300, 1000, 128)
        );
        assert_eq!(o.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(o.events, 3);
    }

    /// A provider's own cost (OpenRouter's `usage.cost`) is kept as a plain decimal, the
    /// response model is read, and duplicate keys resolve as in Python (the last wins).
    #[test]
    fn reported_cost_and_model_from_a_json_body() {
        let body = br#"{"model":"openai/gpt-4o","choices":[{"message":{"content":"x\"y"}}],"usage":{"prompt_tokens":3,"prompt_tokens":12,"completion_tokens":4,"cost":2.45e-05}}"#;
        let o = scan_all_splits(Api::OpenAiChat, Format::Json, body);
        assert_eq!(o.reported_cost.as_deref(), Some("0.0000245 USD"));
        assert_eq!(o.response_model.as_deref(), Some("openai/gpt-4o"));
        let u = o.usage(Api::OpenAiChat);
        assert_eq!((u.input_tokens, u.output_tokens), (12, 4));
        let int_cost = br#"{"usage":{"prompt_tokens":1,"completion_tokens":1,"cost":2}}"#;
        let o = scan_all_splits(Api::OpenAiChat, Format::Json, int_cost);
        assert_eq!(o.reported_cost.as_deref(), Some("2 USD"));
        let not_json = b"{\"usage\":{\"prompt_tokens\":1";
        let o = scan_all_splits(Api::OpenAiChat, Format::Json, not_json);
        assert!(!o.saw_usage(), "a truncated body records nothing");
    }

    #[test]
    fn crlf_framed_events() {
        let body = b"event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":50,\"cache_read_input_tokens\":2000,\"cache_creation_input_tokens\":300,\"output_tokens\":1}}}\r\n\r\nevent: message_delta\r\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":70}}\r\n\r\n";
        let o = scan_all_splits(Api::AnthropicMessages, Format::Sse, body);
        let u = o.usage(Api::AnthropicMessages);
        assert_eq!(
            (
                u.input_tokens,
                u.output_tokens,
                u.cached_tokens,
                u.cache_write
            ),
            (2350, 70, 2000, 300)
        );
    }

    #[test]
    fn multi_line_data_survives_crlf_splits() {
        let body = b"data: {\"model\":\"m\",\r\ndata: \"usage\":{\"prompt_tokens\":7,\"completion_tokens\":8}}\r\n\r\n";
        let o = scan_all_splits(Api::OpenAiChat, Format::Sse, body);
        assert_eq!(
            o.usage(Api::OpenAiChat).output_tokens,
            8,
            "the two data lines form one event"
        );
        assert_eq!(o.events, 1);
    }

    #[test]
    fn oversized_events_are_skipped_not_buffered() {
        let mut body = b"data: {\"model\":\"m\",\"x\":\"".to_vec();
        body.extend(std::iter::repeat_n(b'a', EVENT_CAP * 2));
        body.extend_from_slice(
            b"\"}\n\ndata: {\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\n",
        );
        let mut s = Scanner::new(Api::OpenAiChat, Format::Sse);
        for chunk in body.chunks(4096) {
            s.feed(chunk);
            assert!(s.buf.len() <= EVENT_CAP && s.data.len() <= EVENT_CAP);
            assert!(s.kept_len <= KEEP_CAP);
        }
        s.finish();
        assert_eq!(s.observed.oversized, 1);
        assert_eq!(s.observed.usage(Api::OpenAiChat).input_tokens, 3);
    }

    /// On the way, the scanner only frames events and keeps the ones that can carry usage or
    /// the model (not the deltas of text); nothing is parsed before the end.
    #[test]
    fn events_are_kept_on_the_way_and_parsed_at_the_end() {
        let delta = "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"delta\":{\"content\":\"so\"}}]}\n\n";
        let mut body = delta.to_owned();
        body += &delta
            .repeat(20)
            .replace("gpt-4o-2024-08-06", "a-later-model");
        body += "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":21}}\n\ndata: [DONE]\n\n";
        let mut s = Scanner::new(Api::OpenAiChat, Format::Sse);
        s.feed(body.as_bytes());
        assert_eq!(s.observed.events, 23);
        assert_eq!(s.kept.len(), 2, "the first event (the model) and the usage");
        assert!(!s.observed.saw_usage() && s.observed.response_model.is_none());
        s.finish();
        assert!(s.kept.is_empty() && s.kept_len == 0);
        let u = s.observed.usage(Api::OpenAiChat);
        assert_eq!((u.input_tokens, u.output_tokens), (9, 21));
        assert_eq!(
            s.observed.response_model.as_deref(),
            Some("gpt-4o-2024-08-06"),
            "the first model named is the response's"
        );
        assert_eq!(
            scan_all_splits(Api::OpenAiChat, Format::Sse, body.as_bytes()),
            s.observed
        );
    }

    /// A stream whose every event mentions usage (Gemini repeats its running totals) keeps at
    /// most the cap; past it, the oldest are parsed one by one as new ones come (never all at
    /// once, which would stall the caller), and it still ends with the last totals.
    #[test]
    fn kept_events_stay_under_the_cap() {
        let mut s = Scanner::new(Api::GeminiGenerate, Format::Sse);
        let mut sent = 0;
        let mut n = 0u64;
        let mut full = false;
        while sent < 3 * KEEP_CAP {
            n += 1;
            let event = format!(
                "data: {{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"{}\"}}]}}}}],\"usageMetadata\":{{\"promptTokenCount\":40,\"candidatesTokenCount\":{n}}},\"modelVersion\":\"gemini-2.5-flash\"}}\r\n\r\n",
                "t".repeat(900)
            );
            sent += event.len();
            s.feed(event.as_bytes());
            assert!(s.kept_len <= KEEP_CAP, "kept {} bytes", s.kept_len);
            if full {
                assert!(
                    s.kept_len + event.len() > KEEP_CAP,
                    "a burst: kept {} bytes",
                    s.kept_len
                );
            }
            full |= s.kept_len + event.len() > KEEP_CAP;
        }
        s.finish();
        let u = s.observed.usage(Api::GeminiGenerate);
        assert_eq!((u.input_tokens, u.output_tokens), (40, n));
        assert_eq!(
            s.observed.response_model.as_deref(),
            Some("gemini-2.5-flash")
        );
    }

    #[test]
    fn event_stream_headers() {
        // name_len, name, type 7 (string), u16 len, value
        let mut h = vec![11u8];
        h.extend_from_slice(b":event-type");
        h.push(7);
        h.extend_from_slice(&8u16.to_be_bytes());
        h.extend_from_slice(b"metadata");
        assert_eq!(event_type(&h).as_deref(), Some("metadata"));
        assert_eq!(
            event_type(&h[..5]),
            None,
            "truncated headers are not a panic"
        );
        assert_eq!(event_type(&[255]), None);
    }
}

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
/// How much of the end of a JSON body past [`JSON_CAP`] is kept (a batch of embeddings runs to
/// tens of megabytes): where every API puts its usage.
const TAIL_CAP: usize = 64 << 10;
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
    /// Newline-delimited JSON (Ollama; Cohere's v1 streams, `application/stream+json`).
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
            || is("application/stream+json")
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
    /// The response's id, as the provider named it.
    pub(crate) response_id: Option<String>,
    /// Why generation stopped, per choice or candidate (at most [`Observed::MAX_REASONS`]).
    pub(crate) finish_reasons: Vec<String>,
    /// A failed call's error message, cut to [`Observed::MAX_ERROR`] characters.
    pub(crate) error_message: Option<String>,
    /// The answer reported an error in its body or stream (an `error` event or member, an AWS
    /// exception), whatever its status said: a stream cut off by an overloaded provider
    /// answers `200` and says so only in an event.
    pub(crate) failed_in_body: bool,
    /// The tools the model asked to call: each call's id (where the API gives one) and the
    /// tool's name, never its arguments (at most [`Observed::MAX_TOOL_CALLS`]).
    pub(crate) tool_calls: Vec<(Option<String>, String)>,
    pub(crate) events: u64,
    pub(crate) oversized: u64,
}

impl Observed {
    /// Reads the usage an answer's headers carry: Bedrock's `InvokeModel` counts its tokens
    /// there (`X-Amzn-Bedrock-Input-Token-Count` and its kin), whatever the model's body
    /// says. A count in the body, read later, takes their place.
    pub(crate) fn read_headers(&mut self, api: Api, headers: &http::HeaderMap) {
        if api != Api::BedrockInvoke {
            return;
        }
        let count = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        for (slot, name) in [
            (&mut self.input, "x-amzn-bedrock-input-token-count"),
            (&mut self.output, "x-amzn-bedrock-output-token-count"),
            (
                &mut self.cached,
                "x-amzn-bedrock-cache-read-input-token-count",
            ),
            (
                &mut self.cache_write,
                "x-amzn-bedrock-cache-write-input-token-count",
            ),
        ] {
            if let Some(n) = count(name) {
                *slot = Some(n);
            }
        }
    }

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
            Api::AnthropicMessages | Api::BedrockConverse | Api::BedrockInvoke => (
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
    /// Discarding an oversized line or event until its end (keeping its last [`TAIL_CAP`]
    /// bytes).
    skipping: bool,
    /// The oversized line is an SSE `data:` line or an NDJSON one: its end may hold usage.
    skipped_data: bool,
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
            skipped_data: false,
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
                if !self.skipping && self.buf.len() + chunk.len() <= JSON_CAP {
                    self.buf.extend_from_slice(chunk);
                } else {
                    if !self.skipping {
                        self.skipping = true;
                        self.observed.oversized += 1;
                    }
                    // Only the end is kept now: see `read_tail`.
                    keep_end(&mut self.buf, chunk);
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
                let body = std::mem::take(&mut self.buf);
                if self.skipping {
                    self.read_tail(&body);
                } else {
                    // An array is Gemini's streamed JSON without `alt=sse`.
                    self.parse_and_apply(&body, true);
                }
            }
            Format::Sse | Format::Ndjson => {
                if self.skipping {
                    self.end_skipped_line(&[]);
                } else if !self.buf.is_empty() {
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
                        self.end_skipped_line(head);
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
                    if !self.skipping && self.buf.len() + chunk.len() > EVENT_CAP {
                        // Past the cap: only the line's end is kept from here (an image's
                        // base64 comes before the usage that follows it).
                        self.skipping = true;
                        self.observed.oversized += 1;
                        let line = self.buf.iter().chain(chunk);
                        self.skipped_data =
                            self.format == Format::Ndjson || line.take(4).eq(b"data".iter());
                    }
                    if self.skipping {
                        keep_end(&mut self.buf, chunk);
                    } else {
                        self.buf.extend_from_slice(chunk);
                    }
                    return;
                }
            }
        }
    }

    /// An oversized line ends with `last`: its usage, if it gave one, is read from its end.
    fn end_skipped_line(&mut self, last: &[u8]) {
        self.skipping = false;
        keep_end(&mut self.buf, last);
        let end = std::mem::take(&mut self.buf);
        if std::mem::take(&mut self.skipped_data)
            && let Some(doc) = tail::usage_at_the_end(&end)
        {
            self.keep(doc);
        }
    }

    fn line(&mut self, line: &[u8]) {
        if self.format == Format::Ndjson {
            if line.len() > EVENT_CAP {
                // As a line cut on the way is (`end_skipped_line`).
                self.observed.events += 1;
                self.observed.oversized += 1;
                self.skipped_data = true;
                self.buf.extend_from_slice(&line[line.len() - TAIL_CAP..]);
                self.end_skipped_line(&[]);
            } else if !line.iter().all(u8::is_ascii_whitespace) {
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
                    let end = &value[value.len().saturating_sub(TAIL_CAP)..];
                    if let Some(doc) = tail::usage_at_the_end(end) {
                        self.keep(doc);
                    }
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

    /// The usage of an answer too large to keep whole, read from its end (see [`tail`]).
    fn read_tail(&mut self, end: &[u8]) {
        if let Some(doc) = tail::usage_at_the_end(end) {
            self.parse_and_apply(&doc, false);
        }
    }

    /// Bedrock's binary framing: prelude (total length, headers length, CRC), headers,
    /// payload, CRC. Only `metadata` (usage), `contentBlockStart` (a tool call) and
    /// `messageStop` (the reason to stop) events are parsed.
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
            if let Some(exception) = header(headers, b":exception-type") {
                // The provider failed the call mid-stream (`throttlingException`,
                // `modelStreamErrorException`); the payload's `message` says why. Read now: it
                // is the first error, and the last event.
                if !std::mem::replace(&mut self.observed.failed_in_body, true) {
                    self.observed.error_message = None;
                    self.parse_and_apply(payload, false);
                    let said = match self.observed.error_message.take() {
                        Some(message) => format!("{exception}: {message}"),
                        None => exception,
                    };
                    self.observed.error_message =
                        Some(said.chars().take(Observed::MAX_ERROR).collect());
                }
                continue;
            }
            match event_type(headers).as_deref() {
                // Usage, the start of a block (which names a tool call), and why it stopped.
                Some("metadata" | "contentBlockStart" | "messageStop") => {
                    self.keep(payload.to_vec());
                }
                // `InvokeModel`'s stream: the model's own events, base64 in `bytes`.
                Some("chunk") if self.api == Api::BedrockInvoke => {
                    if let Some(event) = chunk_bytes(payload)
                        && (relevant(self.api, &mut self.model_kept, &event)
                            || METRICS.find(&event).is_some())
                    {
                        self.keep(event);
                    }
                }
                _ => {}
            }
        }
    }

    fn apply(&mut self, v: Node<'_>) {
        self.observed.describe(v);
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
            // Claude on Bedrock's `InvokeModel` answers as Anthropic's API does.
            Api::AnthropicMessages | Api::BedrockInvoke => {
                // `message_start` wraps the message; `message_delta` and plain responses do not.
                let m = v.get("message").unwrap_or(v);
                model(m.get("model"));
                if let Some(u) = m.get("usage").filter(Node::is_object) {
                    set(&mut o.input, n(u, "/input_tokens"));
                    set(&mut o.output, n(u, "/output_tokens"));
                    set(&mut o.cached, n(u, "/cache_read_input_tokens"));
                    set(&mut o.cache_write, n(u, "/cache_creation_input_tokens"));
                }
                if self.api == Api::BedrockInvoke {
                    // Llama names its own counts; a stream's last event carries Bedrock's.
                    set(&mut o.input, n(v, "/prompt_token_count"));
                    set(&mut o.output, n(v, "/generation_token_count"));
                    if let Some(metrics) = v.get("amazon-bedrock-invocationMetrics") {
                        set(&mut o.input, n(metrics, "/inputTokenCount"));
                        set(&mut o.output, n(metrics, "/outputTokenCount"));
                    }
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
            Api::CohereChat | Api::CohereEmbed => {
                // A v1 stream's `stream-end` wraps the answer in `response`; a v2 stream's
                // `message-end` has its usage in `delta`.
                let r = v.get("response").filter(Node::is_object).unwrap_or(v);
                let d = v.get("delta").filter(Node::is_object).unwrap_or(r);
                let usage = d.get("usage").or_else(|| r.get("meta"));
                // Billed units (what the call is charged for) where given, else all tokens
                // processed: never one count of each.
                let counts = usage.and_then(|u| {
                    u.get("billed_units")
                        .filter(Node::is_object)
                        .or_else(|| u.get("tokens"))
                });
                if let Some(c) = counts {
                    set(&mut o.input, n(c, "/input_tokens"));
                    set(&mut o.output, n(c, "/output_tokens"));
                    if o.output.is_none() && o.input.is_some() {
                        o.output = Some(0); // embeddings
                    }
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

/// Appends `chunk` to `buf` keeping only the end: once past twice [`TAIL_CAP`], the last
/// `TAIL_CAP` bytes move to a buffer of their own, and the one that held the answer so far is
/// given back (never grown to take the chunk first).
fn keep_end(buf: &mut Vec<u8>, chunk: &[u8]) {
    if buf.len() + chunk.len() <= 2 * TAIL_CAP {
        buf.extend_from_slice(chunk);
        return;
    }
    let from_chunk = chunk.len().min(TAIL_CAP);
    let from_buf = (TAIL_CAP - from_chunk).min(buf.len());
    let mut end = Vec::with_capacity(2 * TAIL_CAP);
    end.extend_from_slice(&buf[buf.len() - from_buf..]);
    end.extend_from_slice(&chunk[chunk.len() - from_chunk..]);
    *buf = end;
}

/// The searches [`relevant`] makes in every event, built once: `memmem::find` would build
/// each anew (and copy its needle) for every event.
static MODEL: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"model"));
/// `"usage` begins `"usage"` and `"usageMetadata"`, and no `"message"`.
static USAGE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"usage"));
static EVAL_COUNT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"eval_count"));
static BILLED: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"billed_units"));
/// A member named `name`: never found inside a string (whose quotes are escaped), so not in
/// generated text or a tool's arguments.
static NAME: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"name\""));
/// What every API calls a tool call (OpenAI's and Cohere's `tool_calls`, Anthropic's
/// `tool_use`, Bedrock's `toolUse`, the Responses API's `function_call`, Gemini's
/// `functionCall`), looked for only once a `"name"` is found.
static TOOL: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"tool"));
static FUNCTION_CALL: LazyLock<[Finder<'static>; 2]> =
    LazyLock::new(|| [Finder::new(b"function_call"), Finder::new(b"functionCall")]);

/// Whether an event can carry what is recorded: the first one that names a model (`"model`,
/// `"modelVersion`), and any that mentions usage (`usage`, `usageMetadata`; Ollama's
/// `eval_count`; Cohere's `billed_units`), any that gives a reason to stop (OpenAI-style
/// streams say it in an event of its own, neither the first nor the usage), any that names a
/// tool call (a `"name"` member beside a tool marker: the first delta of each call, not those
/// of its arguments), and any that reports an error. Deltas of generated text are not kept:
/// none of these quoted names can occur inside a string, whose quotes are escaped.
fn relevant(api: Api, model_kept: &mut bool, data: &[u8]) -> bool {
    if !*model_kept && MODEL.find(data).is_some() {
        *model_kept = true;
        return true;
    }
    USAGE.find(data).is_some()
        || match api {
            Api::OllamaNative => EVAL_COUNT.find(data).is_some(),
            Api::CohereChat | Api::CohereEmbed => BILLED.find(data).is_some(),
            _ => false,
        }
        || (NAME.find(data).is_some()
            && (TOOL.find(data).is_some() || FUNCTION_CALL.iter().any(|f| f.find(data).is_some())))
        || not_null(&FINISH_REASON, data)
        || not_null(&ERROR, data)
}

static FINISH_REASON: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"\"finish_reason\""));
/// An `error` member, or the string `"error"` (an event's `type`).
static ERROR: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"error\""));

/// Whether `data` has the quoted name `finder` looks for other than as a member whose value is
/// `null` (which every delta of an OpenAI-style stream carries as its `finish_reason`, and
/// the Responses API's events as their `error`).
fn not_null(finder: &Finder<'_>, data: &[u8]) -> bool {
    finder.find_iter(data).any(|at| {
        let rest = &data[at + finder.needle().len()..];
        let mut after = rest
            .iter()
            .skip_while(|b| b.is_ascii_whitespace())
            .skip_while(|b| **b == b':')
            .skip_while(|b| b.is_ascii_whitespace());
        after.next() != Some(&b'n')
    })
}

/// What Bedrock's `InvokeModel` stream adds to its last event: the call's token counts.
static METRICS: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"amazon-bedrock-invocationMetrics"));

/// The event a Bedrock `chunk` carries: its payload is `{"bytes": "<base64>"}`.
fn chunk_bytes(payload: &[u8]) -> Option<Vec<u8>> {
    const KEY: &[u8] = b"\"bytes\"";
    let at = memchr::memmem::find(payload, KEY)? + KEY.len();
    let open = at + memchr::memchr(b'"', &payload[at..])? + 1;
    let close = open + memchr::memchr(b'"', &payload[open..])?;
    let text = std::str::from_utf8(&payload[open..close]).ok()?;
    // JSON may escape the alphabet's `/`.
    crate::base64::decode(&text.replace("\\/", "/"))
}

/// The `:event-type` header of an AWS event-stream message.
fn event_type(h: &[u8]) -> Option<String> {
    header(h, b":event-type")
}

/// A string header of an AWS event-stream message.
fn header(mut h: &[u8], wanted: &[u8]) -> Option<String> {
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
        if name == wanted && kind == 7 {
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

mod describe;
mod tail;

#[cfg(test)]
pub(crate) mod tests;

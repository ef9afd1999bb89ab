//! Usage, model and cost read from every provider's answers, whole and streamed, split anywhere.

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
    // Cohere's v1 streams.
    let cohere = Api::CohereChat;
    assert_eq!(
        of(Some("application/stream+json"), cohere, true),
        Format::Ndjson
    );
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

/// Cohere's own API: the billed units where given (never one count of each kind), else the
/// tokens processed; v2's `message-end` and v1's `stream-end`; embeddings' input alone.
#[test]
fn cohere_answers_whole_and_streamed() {
    let counts = |o: &Observed, api| {
        let u = o.usage(api);
        (u.input_tokens, u.output_tokens)
    };
    let chat = Api::CohereChat;
    let whole = br#"{"id":"c-1","finish_reason":"TOOL_CALL","message":{"role":"assistant","tool_plan":"look it up","tool_calls":[{"id":"tc_1","type":"function","function":{"name":"credit_score","arguments":"{}"}}]},"usage":{"billed_units":{"input_tokens":9,"output_tokens":40},"tokens":{"input_tokens":71,"output_tokens":40}}}"#;
    let o = scan_all_splits(chat, Format::Json, whole);
    assert_eq!(counts(&o, chat), (9, 40));
    assert_eq!(o.response_id.as_deref(), Some("c-1"));
    assert_eq!(o.finish_reasons, ["TOOL_CALL"]);
    assert_eq!(
        o.tool_calls,
        [(Some("tc_1".to_owned()), "credit_score".to_owned())]
    );
    // Only the tokens processed: those.
    let tokens = br#"{"id":"c-2","finish_reason":"COMPLETE","message":{"role":"assistant","content":[]},"usage":{"tokens":{"input_tokens":71,"output_tokens":12}}}"#;
    assert_eq!(
        counts(&scan_all_splits(chat, Format::Json, tokens), chat),
        (71, 12)
    );
    let v2_stream = b"event: message-start\ndata: {\"id\":\"c-3\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\"}}}\n\n\
event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"Approved\"}}}}\n\n\
event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"COMPLETE\",\"usage\":{\"billed_units\":{\"input_tokens\":5,\"output_tokens\":2},\"tokens\":{\"input_tokens\":67,\"output_tokens\":2}}}}\n\n";
    let o = scan_all_splits(chat, Format::Sse, v2_stream);
    assert_eq!(counts(&o, chat), (5, 2));
    assert_eq!(o.finish_reasons, ["COMPLETE"]);
    let v1_stream = b"{\"is_finished\":false,\"event_type\":\"stream-start\",\"generation_id\":\"g-1\"}\n\
{\"is_finished\":false,\"event_type\":\"text-generation\",\"text\":\"Approved\"}\n\
{\"is_finished\":true,\"event_type\":\"stream-end\",\"finish_reason\":\"COMPLETE\",\"response\":{\"response_id\":\"r-1\",\"text\":\"Approved\",\"meta\":{\"billed_units\":{\"input_tokens\":6,\"output_tokens\":1}}}}\n";
    let o = scan_all_splits(chat, Format::Ndjson, v1_stream);
    assert_eq!(counts(&o, chat), (6, 1));
    assert_eq!(o.finish_reasons, ["COMPLETE"]);
    let embed = Api::CohereEmbed;
    let embedded = br#"{"id":"e-1","embeddings":{"float":[[0.1,0.2]]},"texts":["a"],"meta":{"api_version":{"version":"2"},"billed_units":{"input_tokens":3}}}"#;
    let o = scan_all_splits(embed, Format::Json, embedded);
    assert_eq!(counts(&o, embed), (3, 0));
    assert!(o.saw_usage());
    // A failed call's message, at the top as Cohere puts it.
    let failed = br#"{"id":"f-1","message":"invalid api token"}"#;
    let o = scan_all_splits(chat, Format::Json, failed);
    assert_eq!(o.error_message.as_deref(), Some("invalid api token"));
    assert!(!o.saw_usage());
}

/// Ollama's `/api/chat` answer names its tool calls in its message, without ids.
#[test]
fn ollama_tool_calls_are_read_from_the_message() {
    let body = br#"{"model":"llama3.2","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"credit_score","arguments":{"applicant":"A-17"}}}]},"done":true,"done_reason":"stop","prompt_eval_count":26,"eval_count":12}"#;
    let o = scan_all_splits(Api::OllamaNative, Format::Json, body);
    assert_eq!(o.tool_calls, [(None, "credit_score".to_owned())]);
    assert_eq!(o.finish_reasons, ["stop"]);
    let u = o.usage(Api::OllamaNative);
    assert_eq!((u.input_tokens, u.output_tokens), (26, 12));
}

/// One AWS event-stream message of `event_type` carrying `payload` (CRCs left zero: the
/// reader does not check them).
fn event_stream_frame(event_type: &str, payload: &str) -> Vec<u8> {
    event_stream_message(":event-type", event_type, payload)
}

/// One AWS event-stream message with one string header, `name: value`.
fn event_stream_message(name: &str, value: &str, payload: &str) -> Vec<u8> {
    let mut headers = vec![name.len() as u8];
    headers.extend_from_slice(name.as_bytes());
    headers.push(7);
    headers.extend_from_slice(&(value.len() as u16).to_be_bytes());
    headers.extend_from_slice(value.as_bytes());
    let total = 12 + headers.len() + payload.len() + 4;
    let mut out = Vec::new();
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&headers);
    out.extend_from_slice(payload.as_bytes());
    out.extend_from_slice(&[0; 4]);
    out
}

/// A streamed answer's tool calls are recorded as a whole answer's are, in every API's
/// stream: each call once, by id and name, however the stream is split; the deltas of its
/// arguments (which may hold `"name"` in their text, escaped) add nothing.
#[test]
fn streamed_tool_calls_are_read_in_every_api() {
    let named = |pairs: &[(&str, &str)]| -> Vec<(Option<String>, String)> {
        pairs
            .iter()
            .map(|(id, name)| ((!id.is_empty()).then(|| id.to_string()), name.to_string()))
            .collect()
    };
    let openai = br#"data: {"id":"c1","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"credit_score","arguments":""}}]}}]}

data: {"id":"c1","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"name\": \"tool_x\"}"}}]}}]}

data: {"id":"c1","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"income_check","arguments":""}}]}}]}

data: {"id":"c1","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: [DONE]

"#;
    let o = scan_all_splits(Api::OpenAiChat, Format::Sse, openai);
    assert_eq!(
        o.tool_calls,
        named(&[("call_a", "credit_score"), ("call_b", "income_check")])
    );
    assert_eq!(o.finish_reasons, ["tool_calls"]);

    let anthropic = br#"event: message_start
data: {"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4","content":[],"usage":{"input_tokens":40,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"credit_score","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"name\": \"A-17\"}"}}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}

"#;
    let o = scan_all_splits(Api::AnthropicMessages, Format::Sse, anthropic);
    assert_eq!(o.tool_calls, named(&[("toolu_1", "credit_score")]));

    // The Responses API names a call in its item events and again in `response.completed`.
    let responses = br#"event: response.output_item.added
data: {"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","id":"fc_1","call_id":"call_r","name":"credit_score","arguments":""}}

event: response.function_call_arguments.delta
data: {"type":"response.function_call_arguments.delta","item_id":"fc_1","delta":"{\"name\""}

event: response.output_item.done
data: {"type":"response.output_item.done","output_index":0,"item":{"type":"function_call","id":"fc_1","call_id":"call_r","name":"credit_score","arguments":"{}"}}

event: response.completed
data: {"type":"response.completed","response":{"id":"resp_1","model":"gpt-4.1","output":[{"type":"function_call","id":"fc_1","call_id":"call_r","name":"credit_score","arguments":"{}"}],"usage":{"input_tokens":10,"output_tokens":5}}}

"#;
    let o = scan_all_splits(Api::OpenAiResponses, Format::Sse, responses);
    assert_eq!(o.tool_calls, named(&[("call_r", "credit_score")]));

    let mut converse = Vec::new();
    converse.extend(event_stream_frame(
        "messageStart",
        r#"{"role":"assistant"}"#,
    ));
    converse.extend(event_stream_frame(
        "contentBlockStart",
        r#"{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"tooluse_1","name":"credit_score"}}}"#,
    ));
    converse.extend(event_stream_frame(
        "contentBlockDelta",
        r#"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{\"name\":"}}}"#,
    ));
    converse.extend(event_stream_frame(
        "messageStop",
        r#"{"stopReason":"tool_use"}"#,
    ));
    converse.extend(event_stream_frame(
        "metadata",
        r#"{"usage":{"inputTokens":20,"outputTokens":8},"metrics":{"latencyMs":100}}"#,
    ));
    let o = scan_all_splits(Api::BedrockConverse, Format::EventStream, &converse);
    assert_eq!(o.tool_calls, named(&[("tooluse_1", "credit_score")]));
    assert_eq!(o.usage(Api::BedrockConverse).input_tokens, 20);
    assert_eq!(o.finish_reasons, ["tool_use"]);
    // And `converse` whole.
    let whole = br#"{"output":{"message":{"role":"assistant","content":[{"text":"Checking."},{"toolUse":{"toolUseId":"tooluse_2","name":"income_check","input":{"name":"A-17"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":20,"outputTokens":8}}"#;
    let o = scan_all_splits(Api::BedrockConverse, Format::Json, whole);
    assert_eq!(o.tool_calls, named(&[("tooluse_2", "income_check")]));
    assert_eq!(o.finish_reasons, ["tool_use"]);

    let cohere = br#"event: tool-call-start
data: {"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"tc_9","type":"function","function":{"name":"credit_score","arguments":""}}}}}

event: tool-call-delta
data: {"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"{\"name\""}}}}}

event: message-end
data: {"type":"message-end","delta":{"finish_reason":"TOOL_CALL","usage":{"billed_units":{"input_tokens":5,"output_tokens":9}}}}

"#;
    let o = scan_all_splits(Api::CohereChat, Format::Sse, cohere);
    assert_eq!(o.tool_calls, named(&[("tc_9", "credit_score")]));

    let ollama = br#"{"model":"llama3.2","message":{"role":"assistant","content":""},"done":false}
{"model":"llama3.2","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"credit_score","arguments":{"name":"A-17"}}}]},"done":false}
{"model":"llama3.2","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":26,"eval_count":12}
"#;
    let o = scan_all_splits(Api::OllamaNative, Format::Ndjson, ollama);
    assert_eq!(o.tool_calls, named(&[("", "credit_score")]));
}

/// An error a provider reports inside a `200` answer (a stream it broke off, overloaded or
/// throttled) marks the answer failed, with its message, in every API's form; `"error": null`
/// and a bare `message` in a good answer do not.
#[test]
fn errors_inside_an_answer_are_read_in_every_api() {
    let failed = |api, format, body: &[u8]| {
        let o = scan_all_splits(api, format, body);
        (o.failed_in_body, o.error_message)
    };
    let said = |m: &str| (true, Some(m.to_owned()));
    let anthropic = br#"event: message_start
data: {"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4","content":[],"usage":{"input_tokens":40,"output_tokens":1}}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Appro"}}

event: error
data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}

"#;
    assert_eq!(
        failed(Api::AnthropicMessages, Format::Sse, anthropic),
        said("Overloaded")
    );
    let openai = br#"data: {"id":"c1","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}

data: {"error":{"message":"The server had an error while processing your request.","type":"server_error"}}

"#;
    assert_eq!(
        failed(Api::OpenAiChat, Format::Sse, openai),
        said("The server had an error while processing your request.")
    );
    let responses = br#"event: response.created
data: {"type":"response.created","response":{"id":"resp_1","model":"o3","status":"in_progress","error":null,"usage":null}}

event: response.failed
data: {"type":"response.failed","response":{"id":"resp_1","model":"o3","status":"failed","error":{"code":"server_error","message":"The model failed."},"usage":null}}

"#;
    assert_eq!(
        failed(Api::OpenAiResponses, Format::Sse, responses),
        said("The model failed.")
    );
    let ollama = b"{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n{\"error\":\"model runner has unexpectedly stopped\"}\n";
    assert_eq!(
        failed(Api::OllamaNative, Format::Ndjson, ollama),
        said("model runner has unexpectedly stopped")
    );
    let gemini = br#"[{"candidates":[{"content":{"parts":[{"text":"Hi"}]}}],"usageMetadata":{"promptTokenCount":5}},{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}]"#;
    assert_eq!(
        failed(Api::GeminiGenerate, Format::Json, gemini),
        said("The model is overloaded.")
    );
    let mut bedrock = event_stream_frame("messageStart", r#"{"role":"assistant"}"#);
    bedrock.extend(event_stream_message(
        ":exception-type",
        "throttlingException",
        r#"{"message":"Too many tokens, please wait."}"#,
    ));
    assert_eq!(
        failed(Api::BedrockConverse, Format::EventStream, &bedrock),
        said("throttlingException: Too many tokens, please wait.")
    );
    // Good answers: `error: null` in every Responses event, `false` or `""` from other
    // servers, a bare `message` string.
    for body in [
        &br#"{"id":"c1","error":false,"choices":[{"finish_reason":"stop"}]}"#[..],
        br#"{"id":"c1","error":"","choices":[{"finish_reason":"stop"}]}"#,
    ] {
        assert_eq!(failed(Api::OpenAiChat, Format::Json, body), (false, None));
    }
    let fine = br#"event: response.completed
data: {"type":"response.completed","response":{"id":"resp_2","model":"o3","status":"completed","error":null,"usage":{"input_tokens":3,"output_tokens":2}}}

"#;
    assert_eq!(
        failed(Api::OpenAiResponses, Format::Sse, fine),
        (false, None)
    );
    let refused = br#"{"id":"f-1","message":"invalid api token"}"#;
    let o = scan_all_splits(Api::CohereChat, Format::Json, refused);
    assert!(
        !o.failed_in_body,
        "a bare message is a failed status's to give"
    );
    assert_eq!(o.error_message.as_deref(), Some("invalid api token"));
}

/// How an answer ended where no finish reason says it: the Responses API's status and why it
/// is incomplete, whole or streamed; Gemini's refusal of the prompt itself.
#[test]
fn outcomes_said_by_status_or_prompt_feedback() {
    let reasons = |api, format, body: &[u8]| scan_all_splits(api, format, body).finish_reasons;
    let cut = br#"{"id":"resp_1","object":"response","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"model":"o3","output":[],"usage":{"input_tokens":10,"output_tokens":64}}"#;
    assert_eq!(
        reasons(Api::OpenAiResponses, Format::Json, cut),
        ["max_output_tokens"]
    );
    let streamed = br#"event: response.created
data: {"type":"response.created","response":{"id":"resp_2","object":"response","status":"in_progress","usage":null}}

event: response.completed
data: {"type":"response.completed","response":{"id":"resp_2","object":"response","status":"completed","incomplete_details":null,"usage":{"input_tokens":10,"output_tokens":5}}}

"#;
    assert_eq!(
        reasons(Api::OpenAiResponses, Format::Sse, streamed),
        ["completed"]
    );
    let filtered = br#"event: response.incomplete
data: {"type":"response.incomplete","response":{"id":"resp_3","object":"response","status":"incomplete","incomplete_details":{"reason":"content_filter"},"usage":{"input_tokens":10,"output_tokens":2}}}

"#;
    assert_eq!(
        reasons(Api::OpenAiResponses, Format::Sse, filtered),
        ["content_filter"]
    );
    let refused = br#"{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH"}]},"usageMetadata":{"promptTokenCount":12,"totalTokenCount":12},"modelVersion":"gemini-2.5-flash"}"#;
    assert_eq!(
        reasons(Api::GeminiGenerate, Format::Json, refused),
        ["SAFETY"]
    );
    // Another API's `status` is not read as an outcome.
    let other = br#"{"id":"x","status":"completed","choices":[{"finish_reason":"stop"}]}"#;
    assert_eq!(reasons(Api::OpenAiChat, Format::Json, other), ["stop"]);
}

/// An answer past the 8 MiB kept whole (a batch of embeddings) still has its usage read, from
/// its end, and is counted as unread; the memory kept for it stays small.
#[test]
fn usage_is_read_from_the_end_of_an_answer_too_large_to_keep() {
    let mut body = br#"{"object":"list","data":["#.to_vec();
    let vector = br#"{"object":"embedding","index":0,"embedding":[0.0123456789,-0.0123456789,0.0123456789,-0.0123456789]},"#;
    while body.len() < JSON_CAP + (1 << 20) {
        body.extend_from_slice(vector);
    }
    body.pop();
    body.extend_from_slice(
        br#"],"model":"text-embedding-3-small","usage":{"prompt_tokens":812345,"total_tokens":812345}}"#,
    );
    let mut s = Scanner::new(Api::OpenAiEmbeddings, Format::Json);
    let mut most = 0;
    for chunk in body.chunks(16 << 10) {
        s.feed(chunk);
        most = most.max(s.buf.capacity());
    }
    s.finish();
    let u = s.observed.usage(Api::OpenAiEmbeddings);
    assert_eq!((u.input_tokens, u.output_tokens), (812_345, 0));
    assert_eq!(s.observed.oversized, 1);
    assert!(most <= JSON_CAP, "kept {most} bytes");
    // Once past the cap, only the end is kept.
    let mut s = Scanner::new(Api::OpenAiEmbeddings, Format::Json);
    for chunk in body.chunks(16 << 10) {
        s.feed(chunk);
    }
    assert!(s.buf.len() <= 2 * TAIL_CAP, "{}", s.buf.len());
}

/// A stream's event past the cap (an image's base64 in the Responses API's
/// `response.completed`, in a Gemini chunk) still gives its usage, from its end, in its place
/// among the stream's events; what is kept of it stays small.
#[test]
fn usage_is_read_from_the_end_of_an_event_too_large_to_keep() {
    let image = "A".repeat(EVENT_CAP * 3);
    let responses = format!(
        "event: response.created\ndata: {{\"type\":\"response.created\",\"response\":{{\"id\":\"resp_i\",\"model\":\"gpt-image-1\",\"status\":\"in_progress\",\"usage\":null}}}}\n\n\
event: response.completed\ndata: {{\"type\":\"response.completed\",\"response\":{{\"id\":\"resp_i\",\"status\":\"completed\",\"output\":[{{\"type\":\"image_generation_call\",\"result\":\"{image}\"}}],\"usage\":{{\"input_tokens\":50,\"output_tokens\":4160}}}}}}\n\n"
    );
    let gemini = format!(
        "data: {{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"Here\"}}]}}}}],\"usageMetadata\":{{\"promptTokenCount\":9}},\"modelVersion\":\"gemini-2.5-flash-image\"}}\r\n\r\n\
data: {{\"candidates\":[{{\"content\":{{\"parts\":[{{\"inlineData\":{{\"mimeType\":\"image/png\",\"data\":\"{image}\"}}}}]}},\"finishReason\":\"STOP\"}}],\"usageMetadata\":{{\"promptTokenCount\":9,\"candidatesTokenCount\":1290}}}}"
    );
    let ollama = format!(
        "{{\"model\":\"llava\",\"message\":{{\"content\":\"{image}\"}},\"done\":true,\"prompt_eval_count\":700,\"eval_count\":12}}\n"
    );
    for (api, format, body, want) in [
        (Api::OpenAiResponses, Format::Sse, responses, (50, 4160)),
        (Api::GeminiGenerate, Format::Sse, gemini, (9, 1290)),
        (Api::OllamaNative, Format::Ndjson, ollama, (700, 12)),
    ] {
        for piece in [4096, 65_537, body.len()] {
            let mut s = Scanner::new(api, format);
            for chunk in body.as_bytes().chunks(piece) {
                s.feed(chunk);
                assert!(
                    s.buf.len() <= EVENT_CAP.max(2 * TAIL_CAP) + piece,
                    "{}",
                    s.buf.len()
                );
                assert!(
                    s.buf.capacity() <= 2 * EVENT_CAP + piece,
                    "{}",
                    s.buf.capacity()
                );
            }
            s.finish();
            let u = s.observed.usage(api);
            assert_eq!((u.input_tokens, u.output_tokens), want, "{api} in {piece}");
            assert_eq!(s.observed.oversized, 1, "{api}");
        }
    }
}

/// Whatever a provider sends, in whatever pieces, the scanner neither panics nor holds more
/// than its caps: every API read in every framing, over real answers with bytes changed,
/// inserted and removed, and over noise.
#[test]
fn any_answer_in_any_pieces_is_read_without_panic() {
    let apis = [
        Api::OpenAiChat,
        Api::OpenAiResponses,
        Api::OpenAiEmbeddings,
        Api::AnthropicMessages,
        Api::GeminiGenerate,
        Api::BedrockConverse,
        Api::BedrockInvoke,
        Api::CohereChat,
        Api::CohereEmbed,
        Api::OllamaNative,
    ];
    let formats = [
        Format::Json,
        Format::Sse,
        Format::Ndjson,
        Format::EventStream,
    ];
    let mut corpus: Vec<Vec<u8>> = vec![
        br#"data: {"id":"c1","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"f","arguments":""}}]},"finish_reason":null}],"usage":null}

data: {"error":{"message":"boom"}}

data: [DONE]

"#.to_vec(),
        br#"{"id":"x","usage":{"prompt_tokens":1},"meta":{"billed_units":{"input_tokens":2}},"message":{"tool_calls":{"id":"t","function":{"name":"g"}}},"output":{"message":{"content":[{"toolUse":{"toolUseId":"u","name":"h"}}]}},"response":{"status":"incomplete","incomplete_details":{"reason":"length"},"error":"e"},"promptFeedback":{"blockReason":"SAFETY"}}"#.to_vec(),
        b"{\"model\":\"m\",\"message\":{\"content\":\"\"},\"done\":true,\"prompt_eval_count\":3,\"eval_count\":4}\n{\"error\":\"x\"}\n".to_vec(),
    ];
    let mut frames = event_stream_frame(
        "contentBlockStart",
        r#"{"start":{"toolUse":{"toolUseId":"a","name":"b"}}}"#,
    );
    frames.extend(event_stream_frame(
        "chunk",
        r#"{"bytes":"eyJ1c2FnZSI6eyJpbnB1dF90b2tlbnMiOjF9fQ=="}"#,
    ));
    frames.extend(event_stream_message(
        ":exception-type",
        "throttlingException",
        r#"{"message":"slow"}"#,
    ));
    corpus.push(frames);
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n.max(1) as u64) as usize
    };
    let alphabet = b"{}[]\":,\\\n\r data:event0123456789eyJ\x00\xff\xc3";
    for round in 0..5000 {
        let mut body = if round % 5 == 4 {
            (0..next(600))
                .map(|_| alphabet[next(alphabet.len())])
                .collect()
        } else {
            corpus[next(corpus.len())].clone()
        };
        for _ in 0..=next(6) {
            let at = next(body.len() + 1);
            match next(3) {
                0 if at < body.len() => {
                    body.remove(at);
                }
                1 => body.insert(at, alphabet[next(alphabet.len())]),
                _ => {
                    if let Some(c) = body.get_mut(at) {
                        *c = alphabet[next(alphabet.len())];
                    }
                }
            }
        }
        let (api, format) = (apis[next(apis.len())], formats[next(formats.len())]);
        let mut s = Scanner::new(api, format);
        let mut rest = &body[..];
        while !rest.is_empty() {
            let (piece, tail) = rest.split_at(1 + next(rest.len()));
            s.feed(piece);
            assert!(s.buf.len() <= JSON_CAP + piece.len());
            rest = tail;
        }
        s.finish();
        let _ = s.observed.usage(api);
    }
}

//! Which requests are model calls, to which provider, speaking which API.

use std::fmt;
use std::sync::Arc;

/// The wire protocol of a model endpoint: it decides how usage is read from the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Api {
    /// OpenAI chat completions (and legacy completions), and every OpenAI-compatible server.
    OpenAiChat,
    /// The OpenAI Responses API.
    OpenAiResponses,
    /// OpenAI-style embeddings.
    OpenAiEmbeddings,
    /// Anthropic Messages.
    AnthropicMessages,
    /// Google Gemini / Vertex AI `generateContent` and `streamGenerateContent`.
    GeminiGenerate,
    /// AWS Bedrock `converse` and `converse-stream`.
    BedrockConverse,
    /// Ollama's own `/api/chat`, `/api/generate`, `/api/embed`.
    OllamaNative,
}

/// A recognized model call: who is called, how, and with which model.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Call {
    /// The provider's name as recorded, e.g. `openai`, `anthropic`, `bedrock`.
    pub provider: String,
    /// The endpoint's protocol.
    pub api: Api,
    /// The model as the URL names it (Gemini, Bedrock, an Azure deployment) or as a recognizer
    /// of your own knows it. The middleware also reads the request body's top-level `model`
    /// once the call is over, off its path, and records that one where the body has it.
    pub model: Option<String>,
    /// Whether the URL asks for a streamed response (Gemini `streamGenerateContent`, Bedrock
    /// `converse-stream`), or a recognizer of your own knows the call streams. Other streams
    /// are told by their response's media type, and where that says nothing (Ollama) by the
    /// request body's `stream`.
    pub stream: bool,
}

impl Call {
    /// A call to `provider` speaking `api`, with no model known and not streamed: what a
    /// recognizer of your own returns, filled in with [`model`](Self::model) and
    /// [`stream`](Self::stream) where it knows them.
    ///
    /// ```
    /// use acttrace::client::{Api, Call};
    ///
    /// let call = Call::new("internal-gateway", Api::OpenAiChat).model("llama-3.3-70b").stream(true);
    /// assert_eq!(call.model.as_deref(), Some("llama-3.3-70b"));
    /// assert!(call.stream);
    /// ```
    pub fn new(provider: impl Into<String>, api: Api) -> Self {
        Self {
            provider: provider.into(),
            api,
            model: None,
            stream: false,
        }
    }

    /// The model asked for.
    #[must_use]
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Whether the request asked for a streamed response.
    #[must_use]
    pub fn stream(mut self, stream: bool) -> Self {
        self.stream = stream;
        self
    }
}

/// Decides whether a request is a model call, before it is sent: it runs on every request's
/// path, so it should look at the URL and headers, not parse the body (the middleware reads
/// the body's `model` itself, after the call). [`Providers`] is the built-in implementation;
/// closures `Fn(&reqwest::Request) -> Option<Call>` implement it too, for routing that a base
/// URL cannot express:
///
/// ```
/// use acttrace::client::{Api, Call, Recognize};
///
/// // A gateway that picks the upstream from a header: every call to it is an OpenAI-style
/// // chat completion, and the header names the model.
/// let gateway = |req: &reqwest::Request| -> Option<Call> {
///     if req.url().host_str() != Some("llm.internal.example") {
///         return None;
///     }
///     let model = req.headers().get("x-model")?.to_str().ok()?;
///     Some(Call::new("internal-gateway", Api::OpenAiChat).model(model))
/// };
///
/// let mut req = reqwest::Request::new(
///     reqwest::Method::POST,
///     "https://llm.internal.example/route".parse().unwrap(),
/// );
/// req.headers_mut().insert("x-model", "mistral-large".parse().unwrap());
/// let call = gateway.recognize(&req).unwrap();
/// assert_eq!((call.provider.as_str(), call.model.as_deref()), ("internal-gateway", Some("mistral-large")));
/// ```
///
/// Pass one to [`AuditMiddleware::recognize_with`](super::AuditMiddleware::recognize_with).
pub trait Recognize: Send + Sync + 'static {
    /// The call, or `None` for a request that is not a model call (it then passes through
    /// untouched and unrecorded).
    fn recognize(&self, req: &reqwest::Request) -> Option<Call>;
}

impl<F> Recognize for F
where
    F: Fn(&reqwest::Request) -> Option<Call> + Send + Sync + 'static,
{
    fn recognize(&self, req: &reqwest::Request) -> Option<Call> {
        self(req)
    }
}

/// An endpoint the user registered: every request under `base` is a call to `provider`.
#[derive(Debug, Clone)]
struct Custom {
    provider: String,
    host: String,
    port: Option<u16>,
    path_prefix: String,
    api: Option<Api>,
}

/// The built-in provider table, plus the endpoints you register.
///
/// Built in, by host and path: OpenAI (chat completions, responses, embeddings), Azure OpenAI,
/// Anthropic Messages, Google Gemini and Vertex AI (`generateContent`,
/// `streamGenerateContent`), AWS Bedrock (`converse`, `converse-stream`), Mistral, Groq,
/// OpenRouter, DeepSeek, xAI, Together, and Ollama on `localhost:11434`.
///
/// ```
/// use acttrace::client::{Api, Providers, Recognize};
///
/// let providers = Providers::new()
///     .openai_compatible("internal-gateway", "https://llm.internal.example/v1")
///     .endpoint("local-claude-proxy", "http://127.0.0.1:8089", Api::AnthropicMessages);
///
/// let req = reqwest::Request::new(
///     reqwest::Method::POST,
///     "https://llm.internal.example/v1/chat/completions".parse().unwrap(),
/// );
/// let call = providers.recognize(&req).unwrap();
/// assert_eq!(call.provider, "internal-gateway");
/// assert_eq!(call.api, Api::OpenAiChat);
///
/// let other = reqwest::Request::new(reqwest::Method::GET, "https://example.com/".parse().unwrap());
/// assert!(providers.recognize(&other).is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Providers {
    custom: Arc<Vec<Custom>>,
}

impl Providers {
    /// The built-in table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Treats every request under `base_url` as an OpenAI-compatible call to `provider`
    /// (self-hosted gateways, vLLM, LiteLLM, …). The API is chosen by the path's ending
    /// (`/chat/completions`, `/responses`, `/embeddings`). Registered endpoints are matched
    /// before the built-in ones. An unparsable `base_url` is ignored.
    pub fn openai_compatible(self, provider: &str, base_url: &str) -> Self {
        self.register(provider, base_url, None)
    }

    /// Treats every request under `base_url` as a call to `provider` speaking `api`.
    pub fn endpoint(self, provider: &str, base_url: &str, api: Api) -> Self {
        self.register(provider, base_url, Some(api))
    }

    fn register(mut self, provider: &str, base_url: &str, api: Option<Api>) -> Self {
        if let Ok(url) = reqwest::Url::parse(base_url)
            && let Some(host) = url.host_str()
        {
            Arc::make_mut(&mut self.custom).push(Custom {
                provider: provider.to_owned(),
                host: host.to_ascii_lowercase(),
                port: url.port_or_known_default(),
                path_prefix: url.path().trim_end_matches('/').to_owned(),
                api,
            });
        }
        self
    }
}

impl Recognize for Providers {
    fn recognize(&self, req: &reqwest::Request) -> Option<Call> {
        let url = req.url();
        // Parsing lower-cases an http(s) host already; other schemes keep theirs.
        let host = url.host_str()?;
        let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(host.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(host)
        };
        let host = host.as_ref();
        let path = url.path();
        let port = url.port_or_known_default();
        // The URL alone: the body (a prompt, often large) is read after the call, if at all.
        self.custom
            .iter()
            .filter(|c| c.host == host && c.port == port)
            .find(|c| path.starts_with(&c.path_prefix))
            .and_then(|c| {
                let api = c.api.or_else(|| openai_suffix(path))?;
                Some(Call::new(c.provider.as_str(), api))
            })
            .or_else(|| builtin(host, port, path))
    }
}

/// The API an OpenAI-style path names by its ending.
fn openai_suffix(path: &str) -> Option<Api> {
    let path = path.trim_end_matches('/');
    if path.ends_with("/chat/completions") || path.ends_with("/completions") {
        Some(Api::OpenAiChat)
    } else if path.ends_with("/responses") {
        Some(Api::OpenAiResponses)
    } else if path.ends_with("/embeddings") {
        Some(Api::OpenAiEmbeddings)
    } else {
        None
    }
}

fn builtin(host: &str, port: Option<u16>, path: &str) -> Option<Call> {
    let openai_style = |provider: &str| openai_suffix(path).map(|api| Call::new(provider, api));
    match host {
        "api.openai.com" => openai_style("openai"),
        "api.anthropic.com" => {
            let p = path.trim_end_matches('/');
            (p == "/v1/messages").then(|| Call::new("anthropic", Api::AnthropicMessages))
        }
        "generativelanguage.googleapis.com" => {
            gemini(path, "gemini").or_else(|| openai_style("gemini"))
        }
        "api.mistral.ai" => openai_style("mistral"),
        "api.groq.com" => openai_style("groq"),
        "openrouter.ai" => openai_style("openrouter"),
        "api.deepseek.com" => openai_style("deepseek"),
        "api.x.ai" => openai_style("xai"),
        "api.together.xyz" | "api.together.ai" => openai_style("together"),
        "localhost" | "127.0.0.1" | "[::1]" | "::1" if port == Some(11434) => ollama(path),
        h if h.ends_with(".openai.azure.com") || h.ends_with(".cognitiveservices.azure.com") => {
            let mut call = openai_style("azure_openai")?;
            call.model = segment_after(path, "/deployments/");
            Some(call)
        }
        h if h.ends_with("aiplatform.googleapis.com") => gemini(path, "vertex_ai"),
        h if h.starts_with("bedrock-runtime.") && h.ends_with(".amazonaws.com") => bedrock(path),
        _ => None,
    }
}

/// `…/models/{model}:generateContent` or `:streamGenerateContent`.
fn gemini(path: &str, provider: &str) -> Option<Call> {
    let (before, method) = path.rsplit_once(':')?;
    let stream = match method {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => return None,
    };
    let model = before.rsplit_once("/models/")?.1;
    Some(
        Call::new(provider, Api::GeminiGenerate)
            .model(model)
            .stream(stream),
    )
}

/// `/model/{model-id}/converse` or `/converse-stream`.
fn bedrock(path: &str) -> Option<Call> {
    let rest = path.strip_prefix("/model/")?;
    let (model, method) = rest.rsplit_once('/')?;
    let stream = match method {
        "converse" => false,
        "converse-stream" => true,
        _ => return None,
    };
    Some(
        Call::new("bedrock", Api::BedrockConverse)
            .model(percent_decode(model))
            .stream(stream),
    )
}

fn ollama(path: &str) -> Option<Call> {
    match path.trim_end_matches('/') {
        "/api/chat" | "/api/generate" | "/api/embed" | "/api/embeddings" => {
            Some(Call::new("ollama", Api::OllamaNative))
        }
        p => openai_suffix(p).map(|api| Call::new("ollama", api)),
    }
}

fn segment_after(path: &str, marker: &str) -> Option<String> {
    let rest = path.split_once(marker)?.1;
    let seg = rest.split('/').next()?;
    (!seg.is_empty()).then(|| percent_decode(seg))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `model` and `stream` from a JSON request body. Nothing else is read or kept: the two
/// fields are read without parsing the rest (see [`shallow_fields`]), with a full parse only
/// for a body the shallow reading is unsure of.
pub(crate) fn request_fields(body: &[u8]) -> Option<(Option<String>, Option<bool>)> {
    match shallow_fields(body) {
        Shallow::Read(fields) => Some(fields),
        Shallow::Unsure => parsed_fields(body),
    }
}

/// What the shallow reading of a request body found.
#[derive(Debug, PartialEq)]
enum Shallow {
    Read((Option<String>, Option<bool>)),
    /// Something only a full parse reads right: not an object, an escaped key or model name,
    /// invalid UTF-8.
    Unsure,
}

/// Reads the top-level `model` and `stream` of a JSON object without parsing the rest: every
/// other value is skipped by matching brackets outside strings, and strings are skipped with
/// `memchr`, so a long prompt costs a fast scan and no allocation. The last duplicate key wins,
/// as in Python.
fn shallow_fields(b: &[u8]) -> Shallow {
    let ws = |i: &mut usize| {
        while b
            .get(*i)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            *i += 1;
        }
    };
    // The index just past the string starting at `i` (a quote), and whether it has escapes.
    let string_end = |i: usize| -> Option<(usize, bool)> {
        let mut at = i + 1;
        let mut escaped = false;
        loop {
            let j = at + memchr::memchr2(b'"', b'\\', b.get(at..)?)?;
            if b[j] == b'"' {
                return Some((j + 1, escaped));
            }
            escaped = true;
            at = j + 2;
        }
    };
    let mut i = 0;
    ws(&mut i);
    if b.get(i) != Some(&b'{') {
        return Shallow::Unsure;
    }
    i += 1;
    let (mut model, mut stream) = (None, None);
    loop {
        ws(&mut i);
        match b.get(i) {
            // The end, with nothing but white space after it.
            Some(b'}') => {
                i += 1;
                ws(&mut i);
                return if i == b.len() {
                    Shallow::Read((model, stream))
                } else {
                    Shallow::Unsure
                };
            }
            None => return Shallow::Unsure,
            Some(b',') => {
                i += 1;
                continue;
            }
            Some(b'"') => {}
            Some(_) => return Shallow::Unsure,
        }
        let Some((key_end, key_escaped)) = string_end(i) else {
            return Shallow::Unsure;
        };
        if key_escaped {
            return Shallow::Unsure;
        }
        let key = &b[i + 1..key_end - 1];
        i = key_end;
        ws(&mut i);
        if b.get(i) != Some(&b':') {
            return Shallow::Unsure;
        }
        i += 1;
        ws(&mut i);
        let start = i;
        // Skip the value: a string, or anything up to the `,` or `}` that ends it at depth 0.
        let mut depth = 0usize;
        loop {
            match b.get(i) {
                None => return Shallow::Unsure,
                Some(b'"') => match string_end(i) {
                    Some((end, _)) => i = end,
                    None => return Shallow::Unsure,
                },
                Some(b'{' | b'[') => {
                    depth += 1;
                    i += 1;
                }
                Some(b'}' | b']') if depth > 0 => {
                    depth -= 1;
                    i += 1;
                }
                Some(b',' | b'}') if depth == 0 => break,
                Some(_) => i += 1,
            }
            if depth == 0 && b.get(start) == Some(&b'"') {
                break;
            }
        }
        let value = trim_json_ws(&b[start..i]);
        match key {
            b"model" => {
                model = match value {
                    [b'"', inner @ .., b'"'] => {
                        if inner.contains(&b'\\') {
                            return Shallow::Unsure;
                        }
                        match std::str::from_utf8(inner) {
                            Ok(m) => Some(m.to_owned()),
                            Err(_) => return Shallow::Unsure,
                        }
                    }
                    _ => None,
                };
            }
            b"stream" => {
                stream = match value {
                    b"true" => Some(true),
                    b"false" => Some(false),
                    _ => None,
                };
            }
            _ => {}
        }
    }
}

fn trim_json_ws(mut v: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t' | b'\n' | b'\r'] = v {
        v = rest;
    }
    v
}

/// [`request_fields`] by a full parse, for the bodies the shallow reading is unsure of.
fn parsed_fields(body: &[u8]) -> Option<(Option<String>, Option<bool>)> {
    let text = std::str::from_utf8(body).ok()?;
    let mut tape = crate::json::parse::Tape::default();
    let root = tape.parse(text).ok()?;
    let (mut model, mut stream) = (None, None);
    for (k, v) in root.members() {
        match k.raw() {
            "model" => model = v.as_str().map(|m| m.into_owned()),
            "stream" => {
                stream = match v.tok() {
                    crate::json::parse::Tok::Bool(b) => Some(b),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    Some((model, stream))
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OpenAiChat => "openai_chat",
            Self::OpenAiResponses => "openai_responses",
            Self::OpenAiEmbeddings => "openai_embeddings",
            Self::AnthropicMessages => "anthropic_messages",
            Self::GeminiGenerate => "gemini_generate",
            Self::BedrockConverse => "bedrock_converse",
            Self::OllamaNative => "ollama",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: &str, url: &str, body: Option<&str>) -> Option<Call> {
        let mut req = reqwest::Request::new(method.parse().unwrap(), url.parse().unwrap());
        if let Some(b) = body {
            *req.body_mut() = Some(reqwest::Body::from(b.to_owned()));
        }
        Providers::new().recognize(&req)
    }

    /// The table reads the URL, never the body: a body naming another model or asking for a
    /// stream changes nothing in the call it recognizes.
    #[test]
    fn the_body_is_not_read_before_the_call() {
        let body = Some(r#"{"model":"gpt-4o","stream":true}"#);
        let c = call("POST", "https://api.openai.com/v1/chat/completions", body).unwrap();
        assert_eq!((c.model, c.stream), (None, false));
        let url = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent";
        let c = call("POST", url, Some(r#"{"model":"other","stream":false}"#)).unwrap();
        assert_eq!(
            (c.model.as_deref(), c.stream),
            (Some("gemini-2.5-pro"), true)
        );
    }

    #[test]
    fn recognizes_every_builtin_provider() {
        // By URL alone: the model and streaming that only a body tells are read after the call
        // (see the middleware's end-to-end tests).
        let cases: &[(&str, &str, Api, Option<&str>, bool)] = &[
            (
                "https://api.openai.com/v1/chat/completions",
                "openai",
                Api::OpenAiChat,
                None,
                false,
            ),
            (
                "https://api.openai.com/v1/responses",
                "openai",
                Api::OpenAiResponses,
                None,
                false,
            ),
            (
                "https://api.openai.com/v1/embeddings",
                "openai",
                Api::OpenAiEmbeddings,
                None,
                false,
            ),
            (
                "https://acme.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21",
                "azure_openai",
                Api::OpenAiChat,
                Some("gpt4o-prod"),
                false,
            ),
            (
                "https://api.anthropic.com/v1/messages",
                "anthropic",
                Api::AnthropicMessages,
                None,
                false,
            ),
            (
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
                "gemini",
                Api::GeminiGenerate,
                Some("gemini-2.5-flash"),
                false,
            ),
            (
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
                "gemini",
                Api::GeminiGenerate,
                Some("gemini-2.5-pro"),
                true,
            ),
            (
                "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent",
                "vertex_ai",
                Api::GeminiGenerate,
                Some("gemini-2.0-flash"),
                false,
            ),
            (
                "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
                "bedrock",
                Api::BedrockConverse,
                Some("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
                false,
            ),
            (
                "https://bedrock-runtime.eu-west-1.amazonaws.com/model/amazon.nova-pro-v1:0/converse-stream",
                "bedrock",
                Api::BedrockConverse,
                Some("amazon.nova-pro-v1:0"),
                true,
            ),
            (
                "https://api.mistral.ai/v1/chat/completions",
                "mistral",
                Api::OpenAiChat,
                None,
                false,
            ),
            (
                "https://api.groq.com/openai/v1/chat/completions",
                "groq",
                Api::OpenAiChat,
                None,
                false,
            ),
            (
                "https://openrouter.ai/api/v1/chat/completions",
                "openrouter",
                Api::OpenAiChat,
                None,
                false,
            ),
            (
                "https://api.deepseek.com/chat/completions",
                "deepseek",
                Api::OpenAiChat,
                None,
                false,
            ),
            (
                "https://api.x.ai/v1/chat/completions",
                "xai",
                Api::OpenAiChat,
                None,
                false,
            ),
            (
                "https://api.together.xyz/v1/chat/completions",
                "together",
                Api::OpenAiChat,
                None,
                false,
            ),
            (
                "http://localhost:11434/api/chat",
                "ollama",
                Api::OllamaNative,
                None,
                false,
            ),
            (
                "http://127.0.0.1:11434/v1/chat/completions",
                "ollama",
                Api::OpenAiChat,
                None,
                false,
            ),
        ];
        for (url, provider, api, model, stream) in cases {
            let body = Some(r#"{"model":"from-the-body","stream":true}"#);
            let c = call("POST", url, body).unwrap_or_else(|| panic!("{url} not recognized"));
            assert_eq!(c.provider, *provider, "{url}");
            assert_eq!(c.api, *api, "{url}");
            assert_eq!(c.model.as_deref(), *model, "{url}");
            assert_eq!(c.stream, *stream, "{url}");
        }
    }

    #[test]
    fn other_requests_pass() {
        for url in [
            "https://api.openai.com/v1/models",
            "https://api.anthropic.com/v1/messages/count_tokens",
            "https://example.com/v1/chat/completions",
            "http://localhost:8080/api/chat",
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:countTokens",
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke",
        ] {
            assert!(call("POST", url, None).is_none(), "{url}");
        }
    }

    #[test]
    fn registered_endpoints_come_first() {
        let p = Providers::new().openai_compatible("gateway", "http://127.0.0.1:4000/llm/");
        let req = reqwest::Request::new(
            reqwest::Method::POST,
            "http://127.0.0.1:4000/llm/v1/responses".parse().unwrap(),
        );
        let c = p.recognize(&req).unwrap();
        assert_eq!(
            (c.provider.as_str(), c.api),
            ("gateway", Api::OpenAiResponses)
        );
        let other_port = reqwest::Request::new(
            reqwest::Method::POST,
            "http://127.0.0.1:4001/llm/v1/chat/completions"
                .parse()
                .unwrap(),
        );
        assert!(p.recognize(&other_port).is_none());
    }

    /// Host names match in any case, built in and registered, whether or not the URL parser
    /// has lower-cased them (it does for http and https, not for other schemes).
    #[test]
    fn hosts_match_in_any_case() {
        let c = call("POST", "https://API.OpenAI.com/v1/chat/completions", None).unwrap();
        assert_eq!(c.provider, "openai");
        let p = Providers::new().endpoint("gw", "llm://Gateway.Internal/v1", Api::OpenAiChat);
        for url in ["llm://gateway.internal/v1/x", "llm://GATEWAY.internal/v1/x"] {
            let req = reqwest::Request::new(reqwest::Method::POST, url.parse().unwrap());
            let c = p.recognize(&req).unwrap_or_else(|| panic!("{url}"));
            assert_eq!(c.provider, "gw", "{url}");
        }
    }

    #[test]
    fn percent_decoding_is_total() {
        assert_eq!(percent_decode("a%3Ab"), "a:b");
        assert_eq!(percent_decode("a%3"), "a%3");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    /// The shallow reading gives what a full parse gives, on ordinary bodies (where it is used)
    /// and on odd ones (where it may hand over to the parse).
    #[test]
    fn request_fields_read_without_a_parse_agree_with_one() {
        let long = "x".repeat(100_000);
        let bodies = [
            r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#.to_owned(),
            r#"{"messages":[{"role":"user","content":"say \"model\": \"fake\", {[}]"}],"model":"o3","stream":true}"#.to_owned(),
            r#" { "stream" : false , "model" : "claude-sonnet-4-5" , "max_tokens" : 1024 } "#.to_owned(),
            r#"{"model":"a","model":"b","stream":true,"stream":false}"#.to_owned(),
            r#"{"metadata":{"model":"inner","stream":true},"tools":[{"model":"x"}],"model":"outer"}"#.to_owned(),
            r#"{"model":"caf\u00e9","stream":true}"#.to_owned(),
            r#"{"mod\u0065l":"escaped-key"}"#.to_owned(),
            r#"{"model":null,"stream":"yes"}"#.to_owned(),
            r#"{"model":7,"stream":1,"temperature":0.5e-3,"n":-1,"x":[[],{},[{}]]}"#.to_owned(),
            r#"{"model":"modèle-ünicode","messages":[]}"#.to_owned(),
            format!(r#"{{"messages":[{{"role":"user","content":"{long}"}}],"model":"gpt-4o-mini","stream":true}}"#),
            "{}".to_owned(),
            "[]".to_owned(),
            "not json".to_owned(),
            r#"{"model":"cut-short""#.to_owned(),
            r#"{"model":"x","messages":[{"#.to_owned(),
            r#"{"model":"x"} trailing"#.to_owned(),
        ];
        for body in &bodies {
            assert_eq!(
                request_fields(body.as_bytes()),
                parsed_fields(body.as_bytes()),
                "{}",
                &body[..body.len().min(80)]
            );
        }
        // Ordinary bodies never need the parse.
        for body in [
            &bodies[0],
            &bodies[1],
            &bodies[2],
            &bodies[4],
            &bodies[8],
            &bodies[10],
        ] {
            assert!(matches!(shallow_fields(body.as_bytes()), Shallow::Read(_)));
        }
        assert_eq!(shallow_fields(bodies[6].as_bytes()), Shallow::Unsure);
    }
}

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
    /// AWS Bedrock `invoke` and `invoke-with-response-stream` (`InvokeModel`): the model's own
    /// request and answer. Usage is read from the answer's token-count headers, and from its
    /// body where it is Anthropic's (Claude) or names `prompt_token_count` and
    /// `generation_token_count` (Llama); a stream's from the events in its base64 `chunk`s
    /// and from Bedrock's `amazon-bedrock-invocationMetrics` in the last.
    BedrockInvoke,
    /// Cohere's own chat API (`/v2/chat`; v1's `/v1/chat` and `/v1/generate`). Usage is read
    /// from `usage` (v2) or `meta` (v1): the billed units where the answer gives them (what the
    /// call is charged for), else the tokens processed; a v2 stream's from its `message-end`
    /// event, a v1 stream's from its `stream-end`.
    CohereChat,
    /// Cohere's embeddings (`/v2/embed`, `/v1/embed`): the billed input tokens in `meta`.
    CohereEmbed,
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
    /// Whether the call matched no known API, and was taken for a model call only because it
    /// went to a known provider's host (a `POST` to an endpoint of theirs the table does not
    /// know: audio, images, batches, files) or because its body looks like one (`model` with
    /// `messages`, `input` or `prompt`): it is recorded all the same, marked
    /// `recognized: false` with its `url_path`, and its usage read as the provider's main API
    /// (or OpenAI's) would be.
    pub unrecognized: bool,
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
            unrecognized: false,
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
/// A request is matched, in this order, and the first match wins:
///
/// 1. **Registered endpoints**, in the order registered: a request under an endpoint's base URL
///    whose API the endpoint (or, for [`openai_compatible`](Self::openai_compatible), the
///    path's ending) names. A registration that matches the base URL but not the API does not
///    stop the search: an OpenAI-compatible gateway and its Anthropic-style route can share a
///    host.
/// 2. **Known hosts**, by host and path: OpenAI (chat completions, responses, embeddings),
///    Azure OpenAI, Anthropic Messages, Google Gemini and Vertex AI (`generateContent`,
///    `streamGenerateContent`, Claude's `rawPredict` and `streamRawPredict`, the
///    OpenAI-compatible endpoint), AWS Bedrock (`converse`, `converse-stream`, `invoke`,
///    `invoke-with-response-stream`; its agents' runtime), Cohere (`/v2/chat`, `/v2/embed`,
///    their v1 forms, the OpenAI-compatible endpoint), Mistral, Groq, OpenRouter, DeepSeek,
///    xAI, Together, Fireworks, Perplexity, Cerebras, SambaNova, DeepInfra, NVIDIA, Hugging
///    Face, AI21, Voyage, Jina, Moonshot, DashScope, Zhipu, and Ollama on `localhost:11434`;
///    Replicate, Hugging Face's inference API, ElevenLabs and Stability, whose own APIs are
///    recorded unrecognized. The provider is the host's owner. Any other `POST` to one
///    of these hosts (a transcription, an image, a batch, a file upload) is recorded too,
///    marked `recognized: false` with its path, and reported once per host and path at warn
///    level: what is sent to a model provider is never left out in silence.
/// 3. **Any host, by the API's shape** (a `POST` to a path that ends as one of these APIs'
///    paths do: `/chat/completions`, `/completions`, `/responses`, `/embeddings`,
///    `/v1/messages`, `…/models/{m}:generateContent`, `/model/{m}/converse`, Ollama's
///    `/api/chat`, `/api/generate`, `/api/embed`, Azure's `/openai/deployments/{d}/…`): a
///    gateway (LiteLLM, OpenRouter, Portkey, a company proxy) or a self-hosted server (vLLM,
///    llama.cpp, Ollama, TGI). The provider is the host itself (`llm.internal.example`,
///    `127.0.0.1:4000`), never a guess such as `openai`.
/// 4. **Anything that looks like a model call**: a `POST` whose JSON body has `model` together
///    with `messages`, `input` or `prompt`, at a path of no known shape. It is recorded, marked
///    `recognized: false` ([`Call::unrecognized`]), and reported once per host and path at
///    warn level through `tracing`, so that no model call goes unrecorded in silence.
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
    /// before the built-in ones. A `base_url` that does not parse is not registered, and is
    /// reported at warn level through `tracing`.
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
        } else {
            // Not silent: its calls would otherwise go unrecorded without a word. The URL is
            // not repeated (it may hold a password).
            tracing::warn!(
                target: "acttrace",
                provider,
                "an endpoint's base URL is not a URL with a scheme and a host \
                 (https://llm.internal.example/v1): the endpoint is not registered, and its \
                 calls are recorded only if their path or body shows them as model calls"
            );
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
        // The URL first: the body (a prompt, often large) is looked at only for a POST that
        // matches nothing else.
        let post = req.method() == reqwest::Method::POST;
        self.custom
            .iter()
            .filter(|c| c.host == host && c.port == port && under(path, &c.path_prefix))
            .find_map(|c| {
                let api = c.api.or_else(|| openai_suffix(path))?;
                Some(Call::new(c.provider.as_str(), api))
            })
            .or_else(|| match builtin(host, port, path) {
                Some(Known::Call(call)) => Some(call),
                Some(Known::Host(owner, api)) => post.then(|| unrecognized(owner, api, path)),
                None if post => {
                    let label = host_label(host, url.port());
                    by_shape(&label, path).or_else(|| looks_like_a_model_call(req, &label, path))
                }
                None => None,
            })
    }
}

/// Whether `path` is under the base path `prefix` (itself, or below it: `/v1` holds `/v1` and
/// `/v1/chat/completions`, not `/v10/...`).
fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The provider named after a host of no known owner: the host, and its port when it is not
/// the scheme's own (`llm.internal.example`, `127.0.0.1:4000`).
fn host_label(host: &str, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

/// A model API recognized by its path alone, on any host.
fn by_shape(label: &str, path: &str) -> Option<Call> {
    let trimmed = path.trim_end_matches('/');
    if let Some(api) = openai_suffix(path) {
        let mut call = Call::new(label, api);
        call.model = segment_after(path, "/openai/deployments/");
        return Some(call);
    }
    if trimmed.ends_with("/v1/messages") || trimmed == "/messages" {
        return Some(Call::new(label, Api::AnthropicMessages));
    }
    if let Some(call) = gemini(path, label) {
        return Some(call);
    }
    if let Some(mut call) = path.find("/model/").and_then(|at| bedrock(&path[at..])) {
        call.provider = label.to_owned();
        return Some(call);
    }
    match trimmed.rsplit_once("/api/").map(|(_, m)| m) {
        Some("chat" | "generate" | "embed" | "embeddings") => {
            Some(Call::new(label, Api::OllamaNative))
        }
        _ => None,
    }
}

/// A `POST` of no known shape whose JSON body has `model` with `messages`, `input` or
/// `prompt`: recorded as unrecognized, and reported once per host and path.
fn looks_like_a_model_call(req: &reqwest::Request, label: &str, path: &str) -> Option<Call> {
    let body = req.body()?.as_bytes()?;
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    let has = |key: &[u8]| memchr::memmem::find(body, key).is_some();
    if *first != b'{' || !has(b"\"model\"") {
        return None;
    }
    if !(has(b"\"messages\"") || has(b"\"input\"") || has(b"\"prompt\"")) {
        return None;
    }
    let api = if req.headers().contains_key("anthropic-version") {
        Api::AnthropicMessages
    } else {
        Api::OpenAiChat
    };
    Some(unrecognized(label, api, path))
}

/// A call that matched no known API, recorded all the same (see [`Call::unrecognized`]), and
/// reported once per host and path.
fn unrecognized(provider: &str, api: Api, path: &str) -> Call {
    warn_once(provider, path);
    let mut call = Call::new(provider, api);
    call.unrecognized = true;
    call
}

/// Reports an unrecognized model call's host and path at warn level, once each.
fn warn_once(label: &str, path: &str) {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let key = format!("{label}{path}");
    let first = SEEN
        .get_or_init(Mutex::default)
        .lock()
        .map(|mut seen| seen.len() < 10_000 && seen.insert(key))
        .unwrap_or(false);
    if first {
        tracing::warn!(
            target: "acttrace",
            host = label,
            path,
            "a request to a model provider, or one that looks like a model call, matches no \
             known API: recorded as an unrecognized llm_call; register the endpoint \
             (Providers::endpoint) to read its usage"
        );
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

/// What the built-in table knows of a request's host.
enum Known {
    /// A call to one of the provider's known APIs.
    Call(Call),
    /// The provider's host (its owner, and the API its other answers are read as), at a path
    /// the table does not know.
    Host(&'static str, Api),
}

/// Hosts that speak OpenAI's API (chat completions, responses, embeddings) under their own
/// paths, and their owners.
const OPENAI_STYLE: &[(&str, &str)] = &[
    ("api.openai.com", "openai"),
    ("api.mistral.ai", "mistral"),
    ("api.groq.com", "groq"),
    ("openrouter.ai", "openrouter"),
    ("api.deepseek.com", "deepseek"),
    ("api.x.ai", "xai"),
    ("api.together.xyz", "together"),
    ("api.together.ai", "together"),
    ("api.fireworks.ai", "fireworks"),
    ("api.perplexity.ai", "perplexity"),
    ("api.cerebras.ai", "cerebras"),
    ("api.sambanova.ai", "sambanova"),
    ("api.deepinfra.com", "deepinfra"),
    ("integrate.api.nvidia.com", "nvidia"),
    ("router.huggingface.co", "huggingface"),
    ("api.ai21.com", "ai21"),
    ("api.voyageai.com", "voyage"),
    ("api.jina.ai", "jina"),
    ("api.moonshot.ai", "moonshot"),
    ("dashscope.aliyuncs.com", "dashscope"),
    ("dashscope-intl.aliyuncs.com", "dashscope"),
    ("open.bigmodel.cn", "zhipu"),
];

/// Hosts of model APIs of their own that the table does not read (predictions, speech,
/// images): every `POST` to them is recorded, unrecognized.
const OTHER_MODEL_HOSTS: &[(&str, &str)] = &[
    ("api.replicate.com", "replicate"),
    ("api-inference.huggingface.co", "huggingface"),
    ("api.elevenlabs.io", "elevenlabs"),
    ("api.stability.ai", "stability"),
];

fn builtin(host: &str, port: Option<u16>, path: &str) -> Option<Known> {
    let openai_style = |provider: &str| openai_suffix(path).map(|api| Call::new(provider, api));
    if let Some(&(_, owner)) = OPENAI_STYLE.iter().find(|(h, _)| *h == host) {
        let call = openai_style(owner);
        return Some(call.map_or(Known::Host(owner, Api::OpenAiChat), Known::Call));
    }
    if let Some(&(_, owner)) = OTHER_MODEL_HOSTS.iter().find(|(h, _)| *h == host) {
        return Some(Known::Host(owner, Api::OpenAiChat));
    }
    let (call, owner, api) = match host {
        "api.anthropic.com" => {
            let p = path.trim_end_matches('/');
            let call =
                (p == "/v1/messages").then(|| Call::new("anthropic", Api::AnthropicMessages));
            (call, "anthropic", Api::AnthropicMessages)
        }
        "generativelanguage.googleapis.com" => (
            gemini(path, "gemini").or_else(|| openai_style("gemini")),
            "gemini",
            Api::GeminiGenerate,
        ),
        // Its own API, and its compatibility endpoint (`/compatibility/v1/chat/completions`)
        // as OpenAI's. Its other answers (rerank, classify) are read as its chat's.
        "api.cohere.com" | "api.cohere.ai" => (
            cohere(path).or_else(|| openai_style("cohere")),
            "cohere",
            Api::CohereChat,
        ),
        "localhost" | "127.0.0.1" | "[::1]" | "::1" if port == Some(11434) => {
            (ollama(path), "ollama", Api::OllamaNative)
        }
        h if h.ends_with(".openai.azure.com") || h.ends_with(".cognitiveservices.azure.com") => {
            let call = openai_style("azure_openai").map(|mut call| {
                call.model = segment_after(path, "/deployments/");
                call
            });
            (call, "azure_openai", Api::OpenAiChat)
        }
        h if h.ends_with("aiplatform.googleapis.com") => (
            gemini(path, "vertex_ai")
                .or_else(|| vertex_claude(path))
                .or_else(|| openai_style("vertex_ai")),
            "vertex_ai",
            Api::GeminiGenerate,
        ),
        h if h.starts_with("bedrock-runtime.") && h.ends_with(".amazonaws.com") => {
            (bedrock(path), "bedrock", Api::BedrockInvoke)
        }
        // Bedrock's agents (`InvokeAgent`, `RetrieveAndGenerate`): recorded as unrecognized.
        h if h.starts_with("bedrock-agent-runtime.") && h.ends_with(".amazonaws.com") => {
            (None, "bedrock", Api::BedrockInvoke)
        }
        _ => return None,
    };
    Some(call.map_or(Known::Host(owner, api), Known::Call))
}

/// A Google-style method call, `{resource}:{method}`, whose method is `plain` or its
/// `streamed` form: the resource, and whether it streams.
fn colon_method<'p>(path: &'p str, plain: &str, streamed: &str) -> Option<(&'p str, bool)> {
    let (before, method) = path.rsplit_once(':')?;
    match method {
        m if m == plain => Some((before, false)),
        m if m == streamed => Some((before, true)),
        _ => None,
    }
}

/// Claude on Vertex AI: `…/publishers/anthropic/models/{model}:rawPredict` or
/// `:streamRawPredict`, Anthropic's Messages API under Google's URL.
fn vertex_claude(path: &str) -> Option<Call> {
    let (before, stream) = colon_method(path, "rawPredict", "streamRawPredict")?;
    let model = before.split_once("/publishers/anthropic/models/")?.1;
    Some(
        Call::new("vertex_ai", Api::AnthropicMessages)
            .model(model)
            .stream(stream),
    )
}

/// `…/models/{model}:generateContent` or `:streamGenerateContent`.
fn gemini(path: &str, provider: &str) -> Option<Call> {
    let (before, stream) = colon_method(path, "generateContent", "streamGenerateContent")?;
    let model = before.rsplit_once("/models/")?.1;
    Some(
        Call::new(provider, Api::GeminiGenerate)
            .model(model)
            .stream(stream),
    )
}

/// `/model/{model-id}/converse`, `/converse-stream`, `/invoke` or
/// `/invoke-with-response-stream`.
fn bedrock(path: &str) -> Option<Call> {
    let rest = path.strip_prefix("/model/")?;
    let (model, method) = rest.rsplit_once('/')?;
    let (api, stream) = match method {
        "converse" => (Api::BedrockConverse, false),
        "converse-stream" => (Api::BedrockConverse, true),
        "invoke" => (Api::BedrockInvoke, false),
        "invoke-with-response-stream" => (Api::BedrockInvoke, true),
        _ => return None,
    };
    Some(
        Call::new("bedrock", api)
            .model(percent_decode(model))
            .stream(stream),
    )
}

/// Cohere's own API: `/v2/chat`, `/v1/chat`, `/v1/generate`, `/v2/embed`, `/v1/embed`.
fn cohere(path: &str) -> Option<Call> {
    let api = match path.trim_end_matches('/') {
        "/v2/chat" | "/v1/chat" | "/v1/generate" => Api::CohereChat,
        "/v2/embed" | "/v1/embed" => Api::CohereEmbed,
        _ => return None,
    };
    Some(Call::new("cohere", api))
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

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OpenAiChat => "openai_chat",
            Self::OpenAiResponses => "openai_responses",
            Self::OpenAiEmbeddings => "openai_embeddings",
            Self::AnthropicMessages => "anthropic_messages",
            Self::GeminiGenerate => "gemini_generate",
            Self::BedrockConverse => "bedrock_converse",
            Self::BedrockInvoke => "bedrock_invoke",
            Self::CohereChat => "cohere_chat",
            Self::CohereEmbed => "cohere_embed",
            Self::OllamaNative => "ollama",
        })
    }
}

#[cfg(test)]
mod tests;

//! Which requests are model calls: by registration, by known host, by shape, by body.

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
            "https://api.fireworks.ai/inference/v1/chat/completions",
            "fireworks",
            Api::OpenAiChat,
            None,
            false,
        ),
        (
            "https://api.perplexity.ai/chat/completions",
            "perplexity",
            Api::OpenAiChat,
            None,
            false,
        ),
        (
            "https://api.cohere.com/compatibility/v1/chat/completions",
            "cohere",
            Api::OpenAiChat,
            None,
            false,
        ),
        (
            "https://api.cohere.com/v2/chat",
            "cohere",
            Api::CohereChat,
            None,
            false,
        ),
        (
            "https://api.cerebras.ai/v1/chat/completions",
            "cerebras",
            Api::OpenAiChat,
            None,
            false,
        ),
        (
            "https://integrate.api.nvidia.com/v1/chat/completions",
            "nvidia",
            Api::OpenAiChat,
            None,
            false,
        ),
        (
            "https://api.voyageai.com/v1/embeddings",
            "voyage",
            Api::OpenAiEmbeddings,
            None,
            false,
        ),
        (
            "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions",
            "dashscope",
            Api::OpenAiChat,
            None,
            false,
        ),
        (
            "https://api.cohere.ai/v1/chat/",
            "cohere",
            Api::CohereChat,
            None,
            false,
        ),
        (
            "https://api.cohere.com/v1/generate",
            "cohere",
            Api::CohereChat,
            None,
            false,
        ),
        (
            "https://api.cohere.com/v2/embed",
            "cohere",
            Api::CohereEmbed,
            None,
            false,
        ),
        (
            "https://api.cohere.com/v1/embed",
            "cohere",
            Api::CohereEmbed,
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

/// A `POST` to a known provider's host at a path the table does not know (a transcription, an
/// image, a batch, a token count) is recorded as an unrecognized call of that provider, read
/// as its main API; other methods there, and requests elsewhere that look like nothing, pass.
#[test]
fn provider_hosts_are_never_passed_in_silence() {
    let cases: &[(&str, &str, Api)] = &[
        (
            "https://api.openai.com/v1/audio/transcriptions",
            "openai",
            Api::OpenAiChat,
        ),
        (
            "https://api.openai.com/v1/images/generations",
            "openai",
            Api::OpenAiChat,
        ),
        (
            "https://api.anthropic.com/v1/messages/batches",
            "anthropic",
            Api::AnthropicMessages,
        ),
        (
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:countTokens",
            "gemini",
            Api::GeminiGenerate,
        ),
        (
            "https://bedrock-runtime.us-east-1.amazonaws.com/guardrail/g1/version/1/apply",
            "bedrock",
            Api::BedrockInvoke,
        ),
        (
            "https://acme.openai.azure.com/openai/deployments/whisper/audio/translations",
            "azure_openai",
            Api::OpenAiChat,
        ),
        (
            "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/l/publishers/google/models/imagen-3:predict",
            "vertex_ai",
            Api::GeminiGenerate,
        ),
        (
            "https://bedrock-agent-runtime.us-east-1.amazonaws.com/agents/A1/agentAliases/L1/sessions/s1/text",
            "bedrock",
            Api::BedrockInvoke,
        ),
        (
            "https://api.cohere.com/v2/rerank",
            "cohere",
            Api::CohereChat,
        ),
        (
            "https://api.replicate.com/v1/models/meta/meta-llama-3-70b-instruct/predictions",
            "replicate",
            Api::OpenAiChat,
        ),
        (
            "https://api-inference.huggingface.co/models/mistralai/Mistral-7B-Instruct-v0.3",
            "huggingface",
            Api::OpenAiChat,
        ),
        (
            "https://api.elevenlabs.io/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM",
            "elevenlabs",
            Api::OpenAiChat,
        ),
        (
            "https://api.stability.ai/v2beta/stable-image/generate/core",
            "stability",
            Api::OpenAiChat,
        ),
        (
            "https://api.cerebras.ai/v1/audio/x",
            "cerebras",
            Api::OpenAiChat,
        ),
    ];
    for (url, provider, api) in cases {
        // Multipart, or no body at all: the host decides, not the body.
        let c = call("POST", url, None).unwrap_or_else(|| panic!("{url} passed in silence"));
        assert!(c.unrecognized, "{url}");
        assert_eq!((c.provider.as_str(), c.api), (*provider, *api), "{url}");
        assert!(call("GET", url, None).is_none(), "{url}: only a POST");
    }
    assert!(call("GET", "https://api.openai.com/v1/models", None).is_none());
    assert!(call("POST", "https://example.com/upload", None).is_none());
    // Only a POST is taken by its shape on a host of no known owner.
    assert!(call("GET", "https://example.com/v1/chat/completions", None).is_none());
    // A JSON body that is not a model's.
    let body = Some(r#"{"user": "x", "items": [1, 2]}"#);
    assert!(call("POST", "http://127.0.0.1:9000/orders", body).is_none());
}

/// Bedrock's `InvokeModel` and Claude on Vertex AI, by their URLs: the model from the path,
/// the stream from the method's name.
#[test]
fn bedrock_invoke_and_claude_on_vertex_are_recognized() {
    let cases: &[(&str, &str, Api, &str, bool)] = &[
        (
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke",
            "bedrock",
            Api::BedrockInvoke,
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            false,
        ),
        (
            "https://bedrock-runtime.eu-west-1.amazonaws.com/model/meta.llama3-70b-instruct-v1:0/invoke-with-response-stream",
            "bedrock",
            Api::BedrockInvoke,
            "meta.llama3-70b-instruct-v1:0",
            true,
        ),
        (
            "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict",
            "vertex_ai",
            Api::AnthropicMessages,
            "claude-sonnet-4@20250514",
            false,
        ),
        (
            "https://europe-west1-aiplatform.googleapis.com/v1/projects/p/locations/europe-west1/publishers/anthropic/models/claude-3-5-haiku@20241022:streamRawPredict",
            "vertex_ai",
            Api::AnthropicMessages,
            "claude-3-5-haiku@20241022",
            true,
        ),
    ];
    for (url, provider, api, model, stream) in cases {
        let c = call("POST", url, None).unwrap_or_else(|| panic!("{url} not recognized"));
        assert!(!c.unrecognized, "{url}");
        assert_eq!(
            (c.provider.as_str(), c.api, c.model.as_deref(), c.stream),
            (*provider, *api, Some(*model), *stream),
            "{url}"
        );
    }
    let openai_style = "https://us-central1-aiplatform.googleapis.com/v1beta1/projects/p/locations/us-central1/endpoints/openapi/chat/completions";
    let c = call("POST", openai_style, None).expect("recognized");
    assert_eq!((c.provider.as_str(), c.api), ("vertex_ai", Api::OpenAiChat));
}

/// Gateways and self-hosted servers on any host and port: recognized by the API's shape and
/// named after the host, never after a provider they are not.
#[test]
fn any_host_is_recognized_by_the_apis_shape_and_named_after_itself() {
    let cases: &[(&str, &str, Api, Option<&str>)] = &[
        (
            "https://example.com/v1/chat/completions",
            "example.com",
            Api::OpenAiChat,
            None,
        ),
        (
            "http://127.0.0.1:4000/chat/completions",
            "127.0.0.1:4000",
            Api::OpenAiChat,
            None,
        ),
        (
            "http://127.0.0.1:4000/v1/responses",
            "127.0.0.1:4000",
            Api::OpenAiResponses,
            None,
        ),
        (
            "http://10.1.2.3:8000/v1/embeddings",
            "10.1.2.3:8000",
            Api::OpenAiEmbeddings,
            None,
        ),
        (
            "http://127.0.0.1:4000/v1/messages",
            "127.0.0.1:4000",
            Api::AnthropicMessages,
            None,
        ),
        (
            "https://gw.example/anthropic/v1/messages",
            "gw.example",
            Api::AnthropicMessages,
            None,
        ),
        (
            "http://localhost:8080/api/chat",
            "localhost:8080",
            Api::OllamaNative,
            None,
        ),
        (
            "https://apim.example/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21",
            "apim.example",
            Api::OpenAiChat,
            Some("gpt4o"),
        ),
        (
            "https://gw.example/v1beta/models/gemini-2.5-pro:generateContent",
            "gw.example",
            Api::GeminiGenerate,
            Some("gemini-2.5-pro"),
        ),
        (
            "https://gw.example/bedrock/model/anthropic.claude-3-5-sonnet/converse",
            "gw.example",
            Api::BedrockConverse,
            Some("anthropic.claude-3-5-sonnet"),
        ),
    ];
    for (url, provider, api, model) in cases {
        let c = call("POST", url, None).unwrap_or_else(|| panic!("{url}"));
        assert_eq!((c.provider.as_str(), c.api), (*provider, *api), "{url}");
        assert_eq!(c.model.as_deref(), *model, "{url}");
        assert!(!c.unrecognized, "{url}");
    }
}

/// A POST that matches no shape but whose body is a model call's is recorded, marked.
#[test]
fn a_model_call_of_no_known_shape_is_taken_unrecognized() {
    let body = Some(r#"{"model": "m", "prompt": "hello"}"#);
    let c = call("POST", "http://127.0.0.1:9000/generate", body).expect("taken");
    assert!(c.unrecognized);
    assert_eq!(
        (c.provider.as_str(), c.api),
        ("127.0.0.1:9000", Api::OpenAiChat)
    );
    let body = Some(r#"{"model": "m", "messages": [{"role": "user", "content": "x"}]}"#);
    let mut req = reqwest::Request::new(
        reqwest::Method::POST,
        "https://gw.example/claude".parse().unwrap(),
    );
    *req.body_mut() = body.map(|b| reqwest::Body::from(b.to_owned()));
    req.headers_mut()
        .insert("anthropic-version", "2023-06-01".parse().unwrap());
    let c = Providers::new().recognize(&req).expect("taken");
    assert_eq!((c.api, c.unrecognized), (Api::AnthropicMessages, true));
}

/// Two registrations on one host: a request one of them matches by base URL but not by
/// API goes on to the next (here an OpenAI-compatible gateway and its Anthropic route).
#[test]
fn a_miss_on_one_registration_does_not_stop_the_search() {
    let p = Providers::new()
        .openai_compatible("gateway", "http://127.0.0.1:4000")
        .endpoint(
            "gateway",
            "http://127.0.0.1:4000/v1/messages",
            Api::AnthropicMessages,
        );
    for (path, api) in [
        ("/v1/chat/completions", Api::OpenAiChat),
        ("/v1/messages", Api::AnthropicMessages),
    ] {
        let req = reqwest::Request::new(
            reqwest::Method::POST,
            format!("http://127.0.0.1:4000{path}").parse().unwrap(),
        );
        let c = p.recognize(&req).unwrap_or_else(|| panic!("{path}"));
        assert_eq!((c.provider.as_str(), c.api), ("gateway", api), "{path}");
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
    // Another port is another server: taken by its shape, named after itself.
    let other_port = reqwest::Request::new(
        reqwest::Method::POST,
        "http://127.0.0.1:4001/llm/v1/chat/completions"
            .parse()
            .unwrap(),
    );
    let c = p.recognize(&other_port).unwrap();
    assert_eq!(c.provider, "127.0.0.1:4001");
    // A path that only begins as the base path does is not under it.
    let beside = reqwest::Request::new(
        reqwest::Method::POST,
        "http://127.0.0.1:4000/llmx/v1/chat/completions"
            .parse()
            .unwrap(),
    );
    let c = p.recognize(&beside).unwrap();
    assert_eq!(
        c.provider, "127.0.0.1:4000",
        "taken by its shape, not the endpoint's"
    );
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

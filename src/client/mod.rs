//! Outbound middleware for reqwest-middleware that records model calls.
//!
//! Wrap the LLM client once and every call it makes to a model provider becomes an
//! `llm_call` entry: provider, model, token usage (cached and reasoning tokens included, as
//! each provider reports them), cost as an exact decimal string, latency, HTTP status, whether
//! it was streamed, and failures (4xx/5xx, timeouts, connection errors) with their kind. The
//! entry carries the current [`Decision`](crate::decision::Decision) (from the inbound layer's
//! task-local, or a `Decision` put in the request's extensions). Message content, API keys and
//! auth headers are never recorded. Requests that are not model calls pass through untouched.
//!
//! Streamed responses (server-sent events, NDJSON, AWS event-stream) are read as they pass, never
//! buffered and never delayed by a byte: each chunk goes to the caller as it comes and is read
//! later, while the caller waits for the network, or on the writer thread once the body is over
//! (the chunks the caller already has are held for that, shared, not copied, until they reach 32
//! chunks or 64 KiB). The entry is written when the stream ends, fails, or is dropped early (then
//! marked `cut_short`). A call the caller gives up on before its response comes (a timeout or a
//! `select!` around it drops it) is recorded too, with the error `cancelled`.
//!
//! # Example
//!
//! ```
//! use acttrace::store::AuditLog;
//! use acttrace::client::AuditMiddleware;
//! use reqwest_middleware::ClientBuilder;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), acttrace::BoxError> {
//! # let path = std::env::temp_dir().join(format!("acttrace-client-doc-{}.jsonl", std::process::id()));
//! let log = AuditLog::open("support-agent", &path).await?;
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     .with(AuditMiddleware::new(log.clone()))
//!     .build();
//! // client.post("https://api.openai.com/v1/chat/completions")... is now recorded.
//! # let _ = client;
//! # log.shutdown().await?;
//! # std::fs::remove_file(&path)?;
//! # Ok(()) }
//! ```

mod cost;
mod middleware;
mod recognize;
mod request;
mod tap;
mod usage;

pub use self::cost::{Price, PriceError, PriceTable};
pub use self::middleware::{AuditMiddleware, SkipAudit};
pub use self::recognize::{Api, Call, Providers, Recognize};

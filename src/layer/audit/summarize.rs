use http::request::Parts;

use crate::json::{Map, Value};

/// Chooses what a `decision` entry records about the request's input.
///
/// It sees the request head and the body as read so far (`complete` is false when the body was
/// longer than the layer's limit and only its start was read). Whatever it returns is written
/// into the chain: keep raw content and credentials out unless that is a deliberate choice.
///
/// Closures `Fn(&Parts, &[u8], bool) -> Value` implement it.
///
/// ```
/// use acttrace::json::Value;
/// use acttrace::layer::AuditLayer;
/// # async fn f(log: acttrace::AuditLog) {
/// let layer = AuditLayer::new(log).summarize_with(|parts: &http::request::Parts, body: &[u8], _complete: bool| {
///     Value::from(format!("{} bytes to {}", body.len(), parts.uri.path()))
/// });
/// # let _ = layer; }
/// ```
pub trait Summarize: Clone + Send + Sync + 'static {
    /// The `input` recorded for this request.
    fn summarize(&self, parts: &Parts, body: &[u8], complete: bool) -> Value;
}

impl<F> Summarize for F
where
    F: Fn(&Parts, &[u8], bool) -> Value + Clone + Send + Sync + 'static,
{
    fn summarize(&self, parts: &Parts, body: &[u8], complete: bool) -> Value {
        self(parts, body, complete)
    }
}

/// The default summary: `{"sha256": …, "bytes": …, "content_type": …}`.
///
/// The digest lets an auditor match a stored copy of the input against the record without the
/// record holding the input. When the body was longer than the layer's limit, the digest covers
/// only the bytes read and `"complete": false` says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct BodyDigest;

impl Summarize for BodyDigest {
    fn summarize(&self, parts: &Parts, body: &[u8], complete: bool) -> Value {
        let mut m = Map::with_capacity(4);
        m.set("sha256", crate::chain::hash::sha256_hex(body));
        m.set("bytes", body.len());
        if let Some(ct) = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
        {
            m.set("content_type", ct);
        }
        if !complete {
            m.set("complete", false);
        }
        Value::Object(m)
    }
}

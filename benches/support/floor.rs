//! The floor of a response-observing reqwest middleware, for the client benches.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Extensions;
use reqwest::{Request, Response, ResponseBuilderExt};
use reqwest_middleware::{Middleware, Next};

/// The floor: replaces each response's body with one that passes it through, as
/// `AuditMiddleware` does (see `rewrap` in `src/client/middleware.rs`), and nothing else.
pub(crate) struct Floor;

impl Middleware for Floor {
    fn handle<'this, 'ext, 'next, 'fut>(
        &'this self,
        req: Request,
        ext: &'ext mut Extensions,
        next: Next<'next>,
    ) -> Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'fut>>
    where
        'this: 'fut,
        'ext: 'fut,
        'next: 'fut,
        Self: 'fut,
    {
        let sent = next.run(req, ext);
        Box::pin(async move {
            let res = sent.await?;
            let url = res.url().clone();
            let (mut parts, body) = http::Response::<reqwest::Body>::from(res).into_parts();
            let mut builder = http::Response::builder();
            if let Some(slot) = builder.extensions_mut() {
                *slot = std::mem::take(&mut parts.extensions);
            }
            let mut builder = builder.url(url);
            if let Some(extensions) = builder.extensions_mut() {
                parts.extensions = std::mem::take(extensions);
            }
            let body = reqwest::Body::wrap(Pass(body));
            Ok(Response::from(http::Response::from_parts(parts, body)))
        })
    }
}

/// Every frame of the body it wraps, unchanged.
struct Pass(reqwest::Body);

impl http_body::Body for Pass {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.0.size_hint()
    }
}

//! A trivial HTTP/1.1 side for the layer benches: serving an app on 127.0.0.1, and one
//! keep-alive connection that sends the bench's request and reads its answer.

use std::net::SocketAddr;

use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The request body every request carries.
const BODY: &str = r#"{"applicant":"A-17","amount":25000,"income":52000,"notes":"steady employment, no defaults"}"#;

/// Serves `app` on a free port of 127.0.0.1.
pub(crate) async fn listen(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// One keep-alive HTTP/1.1 connection that sends the bench's request and reads its answer.
pub(crate) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub(crate) async fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends the request and reads the whole answer, which must be a 200.
    pub(crate) async fn call(&mut self) {
        let request = format!(
            "POST /agent/triage HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{BODY}",
            BODY.len()
        );
        self.stream
            .write_all(request.as_bytes())
            .await
            .expect("write");
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        let (head_end, length) = loop {
            let n = self.stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..i]).to_ascii_lowercase();
                assert!(head.starts_with("http/1.1 200"), "{head}");
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .expect("content-length");
                break (i + 4, length);
            }
        };
        while self.buf.len() < head_end + length {
            let n = self.stream.read(&mut chunk).await.expect("read body");
            assert!(n > 0);
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

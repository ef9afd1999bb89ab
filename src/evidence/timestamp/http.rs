//! HTTP/1.1 for the authority: a timestamp query POSTed, a revocation list fetched with GET.
//! Plain `http://` only: what comes back is signed (a token, a list), so TLS adds nothing.
//!
//! Uses nothing else of the crate.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use super::TimestampError;

/// POSTs a timestamp query and gives the response body.
pub(super) fn post(url: &str, query: &[u8]) -> Result<Vec<u8>, TimestampError> {
    exchange(
        url,
        "POST",
        Some(("application/timestamp-query", query)),
        "application/timestamp-reply",
    )
}

/// GETs a certificate revocation list and gives the response body.
pub(super) fn get_crl(url: &str) -> Result<Vec<u8>, TimestampError> {
    exchange(url, "GET", None, "application/pkix-crl")
}

/// One HTTP/1.1 request (`http://` only), with `body` and its content type if any.
fn exchange(
    url: &str,
    method: &str,
    body: Option<(&str, &[u8])>,
    accept: &str,
) -> Result<Vec<u8>, TimestampError> {
    const LIMIT: u64 = 8 << 20;
    const WAIT: Duration = Duration::from_secs(10);
    let http = |e: &dyn std::fmt::Display| TimestampError::Http(format!("{url}: {e}"));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| http(&"only http:// URLs (what comes is signed; TLS adds nothing)"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    if authority.is_empty()
        || authority
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(http(&"no host"));
    }
    let target = if authority
        .rsplit(':')
        .next()
        .is_some_and(|p| p.parse::<u16>().is_ok())
        && !authority.ends_with(']')
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let addr = target
        .to_socket_addrs()
        .map_err(|e| http(&e))?
        .next()
        .ok_or_else(|| http(&"the host has no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, WAIT).map_err(|e| http(&e))?;
    stream.set_read_timeout(Some(WAIT)).map_err(|e| http(&e))?;
    stream.set_write_timeout(Some(WAIT)).map_err(|e| http(&e))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: {accept}\r\n");
    if let Some((kind, bytes)) = body {
        head += &format!(
            "Content-Type: {kind}\r\nContent-Length: {}\r\n",
            bytes.len()
        );
    }
    head += "Connection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).map_err(|e| http(&e))?;
    if let Some((_, bytes)) = body {
        stream.write_all(bytes).map_err(|e| http(&e))?;
    }
    let mut answer = Vec::new();
    stream
        .take(LIMIT)
        .read_to_end(&mut answer)
        .map_err(|e| http(&e))?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| http(&"no complete HTTP response"))?;
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let content = &answer[split + 4..];
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        let shown: String = status.chars().flat_map(char::escape_debug).collect();
        return Err(http(&format!("answered {shown}")));
    }
    let header = |name: &str| {
        lines.clone().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return dechunk(content).ok_or_else(|| http(&"a malformed chunked body"));
    }
    match header("content-length").map(|v| v.parse::<usize>()) {
        Some(Ok(n)) if n <= content.len() => Ok(content[..n].to_vec()),
        Some(_) => Err(http(&"a short or malformed body")),
        None => Ok(content.to_vec()),
    }
}

/// Decodes an HTTP/1.1 chunked body.
pub(super) fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = body.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&body[..end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        body = &body[end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

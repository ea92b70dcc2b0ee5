//! A minimal HTTP/1.1 client: one request per connection, `Connection: close`.
//!
//! A test of the API's edges must send what ordinary clients refuse to send
//! (a body that is not UTF-8, a bare `/kv/`), and read back exact bytes, so
//! the request is written by hand.

use std::io;
use std::net::SocketAddr;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response: its status code and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text (tests compare text; a body that is not UTF-8 is
    /// shown with replacement characters so that the assertion still reads).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The path of `key` under `/kv/`, with every byte that is not a letter or a
/// digit percent-encoded.
pub fn kv_path(key: &str) -> String {
    format!("/kv/{}", utf8_percent_encode(key, NON_ALPHANUMERIC))
}

/// Sends one request and reads the whole response.
pub async fn send(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> io::Result<Response> {
    send_from(addr, method, path, body, |_port| {}).await
}

/// Like [`send`], and calls `connected` with the client's own port once the
/// connection is made, before the request is sent: the power-loss check
/// finds the request's answer in a trace of the server by that port.
pub async fn send_from(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
    connected: impl FnOnce(u16),
) -> io::Result<Response> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    connected(stream.local_addr()?.port());
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse_response(&raw)
}

/// Parses a response that carries a `content-length` (the only kind our
/// servers send for these requests).
fn parse_response(raw: &[u8]) -> io::Result<Response> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let head_end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| invalid("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| invalid("head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid(status_line))?;
    let mut length = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let body = &raw[head_end + 4..];
    let length = length.ok_or_else(|| invalid("no content-length"))?;
    if body.len() != length {
        return Err(invalid("body length differs from content-length"));
    }
    Ok(Response {
        status,
        body: body.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_percent_encoded() {
        assert_eq!(kv_path("kenya:capital"), "/kv/kenya%3Acapital");
        assert_eq!(kv_path("a b/→"), "/kv/a%20b%2F%E2%86%92");
    }

    #[test]
    fn responses_are_parsed() {
        let raw = b"HTTP/1.1 404 Not Found\r\ncontent-length: 14\r\n\r\nkey not found\n";
        let response = parse_response(raw).unwrap();
        assert_eq!(
            response,
            Response {
                status: 404,
                body: b"key not found\n".to_vec()
            }
        );
        assert!(parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nab").is_err());
    }
}

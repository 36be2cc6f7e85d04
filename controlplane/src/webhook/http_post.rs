//! A minimal HTTP/1.1 POST client for webhook delivery.
//!
//! Supports plain `http://` URLs only (no TLS, no redirects, no proxies):
//! enough for receivers on the same host or a private network, and it
//! avoids compiling a full HTTP client stack. Each request uses its own
//! connection (`Connection: close`); only the status code of the answer is
//! read. Building the request and parsing the status line are pure
//! functions; `post` is the thin I/O around them.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most we read of a response before its status line and headers end.
const MAX_RESPONSE_HEAD: usize = 16 * 1024;

/// A parsed `http://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host as written (brackets kept for IPv6 literals), for `Host:`.
    pub host: String,
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
}

impl HttpUrl {
    /// Parses `url`; anything but `http://` is refused.
    pub fn parse(url: &str) -> Result<Self, PostError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| PostError::UnsupportedUrl(url.to_string()))?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        // Userinfo is not supported; refuse it rather than leak it in Host.
        if authority.is_empty() || authority.contains('@') {
            return Err(PostError::UnsupportedUrl(url.to_string()));
        }
        let (host, port) =
            split_host_port(authority).ok_or_else(|| PostError::UnsupportedUrl(url.to_string()))?;
        Ok(Self {
            host: host.to_string(),
            port,
            path,
        })
    }

    /// `host:port` for connecting (IPv6 literal keeps its brackets).
    pub fn connect_addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The `Host` header value: the port only when it is not 80.
    fn host_header(&self) -> String {
        if self.port == 80 {
            self.host.clone()
        } else {
            self.connect_addr()
        }
    }
}

fn split_host_port(authority: &str) -> Option<(&str, u16)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let host = &authority[..=end];
        return match &authority[end + 1..] {
            "" => Some((host, 80)),
            p => Some((host, p.strip_prefix(':')?.parse().ok()?)),
        };
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() => Some((h, p.parse().ok()?)),
        Some(_) => None,
        None => Some((authority, 80)),
    }
}

/// One POST: where, which extra headers, what body.
#[derive(Debug, Clone)]
pub struct PostRequest<'a> {
    pub url: &'a HttpUrl,
    /// `(name, value)` pairs; values must not contain CR/LF.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl PostRequest<'_> {
    /// The request bytes: head and body.
    pub fn encode(&self) -> Result<Vec<u8>, PostError> {
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.url.path,
            self.url.host_header(),
            self.body.len()
        );
        for (name, value) in self.headers {
            if [name, value].iter().any(|s| s.contains(['\r', '\n'])) {
                return Err(PostError::BadHeader(name.to_string()));
            }
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(self.body);
        Ok(out)
    }
}

/// The status code of a response whose head (status line and headers) is
/// complete in `buf`; `Ok(None)` while more bytes are needed.
pub fn parse_status(buf: &[u8]) -> Result<Option<u16>, PostError> {
    let Some(line_end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() > MAX_RESPONSE_HEAD {
            Err(PostError::BadResponse)
        } else {
            Ok(None)
        };
    };
    let line = std::str::from_utf8(&buf[..line_end]).map_err(|_| PostError::BadResponse)?;
    let mut parts = line.split(' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(PostError::BadResponse);
    }
    let code = parts
        .next()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| (100..1000).contains(c))
        .ok_or(PostError::BadResponse)?;
    Ok(Some(code))
}

/// POSTs `req` and returns the response status. The whole exchange
/// (connect, write, read the status line) must finish within `timeout`.
pub async fn post(req: &PostRequest<'_>, timeout: Duration) -> Result<u16, PostError> {
    let bytes = req.encode()?;
    let addr = req.url.connect_addr();
    let exchange = async {
        let mut stream = TcpStream::connect(&addr).await?;
        stream.write_all(&bytes).await?;
        let mut buf = Vec::with_capacity(512);
        let mut chunk = [0u8; 1024];
        loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(PostError::BadResponse);
            }
            buf.extend_from_slice(&chunk[..n]);
            // 1xx answers (e.g. 100 Continue) are interim: wait for the final one.
            match parse_status(&buf)? {
                Some(code) if code >= 200 => return Ok(code),
                Some(_) => {
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                    }
                }
                None => {}
            }
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| PostError::Timeout)?
}

/// Why a POST got no status code.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Not an `http://host[:port][/path]` URL (https is not supported).
    #[error("unsupported webhook URL {0:?} (only http:// is supported)")]
    UnsupportedUrl(String),
    /// A header name or value contains CR or LF.
    #[error("invalid header {0}")]
    BadHeader(String),
    /// Connecting, writing or reading failed.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    /// The answer was not an HTTP/1.x response.
    #[error("malformed HTTP response")]
    BadResponse,
    /// No answer within the request timeout.
    #[error("request timed out")]
    Timeout,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_and_path() {
        let u = HttpUrl::parse("http://127.0.0.1:8080/hook?x=1").unwrap();
        assert_eq!(u.host, "127.0.0.1");
        assert_eq!(u.port, 8080);
        assert_eq!(u.path, "/hook?x=1");
        let u = HttpUrl::parse("http://example.com").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        let u = HttpUrl::parse("http://[::1]:9/a").unwrap();
        assert_eq!(u.connect_addr(), "[::1]:9");
    }

    #[test]
    fn refuses_https_and_malformed_urls() {
        for bad in [
            "https://x/",
            "ftp://x",
            "http://",
            "http://:80/",
            "http://h:port/",
            "http://u@h/",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_has_length_close_and_headers() {
        let url = HttpUrl::parse("http://h:81/p").unwrap();
        let req = PostRequest {
            url: &url,
            headers: &[("Authorization", "tok")],
            body: b"{}",
        };
        let s = String::from_utf8(req.encode().unwrap()).unwrap();
        assert!(s.starts_with("POST /p HTTP/1.1\r\nHost: h:81\r\n"));
        assert!(s.contains("Content-Length: 2\r\n"));
        assert!(s.contains("Authorization: tok\r\n"));
        assert!(s.ends_with("\r\n\r\n{}"));
    }

    #[test]
    fn header_injection_is_refused() {
        let url = HttpUrl::parse("http://h/").unwrap();
        let req = PostRequest {
            url: &url,
            headers: &[("X", "a\r\nEvil: 1")],
            body: b"",
        };
        assert!(matches!(req.encode(), Err(PostError::BadHeader(_))));
    }

    #[test]
    fn status_line_parsing() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n").unwrap(), Some(200));
        assert_eq!(parse_status(b"HTTP/1.0 503\r\n").unwrap(), Some(503));
        assert_eq!(parse_status(b"HTTP/1.1 20").unwrap(), None);
        assert!(parse_status(b"SSH-2.0\r\n").is_err());
        assert!(parse_status(b"HTTP/1.1 abc x\r\n").is_err());
        assert!(parse_status(&vec![b'a'; MAX_RESPONSE_HEAD + 1]).is_err());
    }
}

//! A minimal HTTP/1.1 POST client for webhook delivery.
//!
//! Supports `http://` and `https://` URLs (no redirects, no proxies): enough
//! for webhook receivers, and it avoids compiling a full HTTP client stack.
//! `https://` runs the same exchange over rustls (`tls.rs`). Each request
//! uses its own connection (`Connection: close`); only the status code of
//! the answer is read. Building the request and parsing the status line
//! are pure functions; `post` is the thin I/O around them.

use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::tls::WebhookTls;

/// The most we read of a response before its status line and headers end.
const MAX_RESPONSE_HEAD: usize = 16 * 1024;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    /// The port used when the URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A parsed `http[s]://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    pub scheme: Scheme,
    /// Host as written (brackets kept for IPv6 literals), for `Host:`.
    pub host: String,
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
}

impl HttpUrl {
    /// Parses `url`; anything but `http://` and `https://` is refused.
    pub fn parse(url: &str) -> Result<Self, PostError> {
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else {
            return Err(PostError::UnsupportedUrl(url.to_string()));
        };
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
        let (host, port) = split_host_port(authority, scheme.default_port())
            .ok_or_else(|| PostError::UnsupportedUrl(url.to_string()))?;
        Ok(Self {
            scheme,
            host: host.to_string(),
            port,
            path,
        })
    }

    /// `host:port` for connecting (IPv6 literal keeps its brackets).
    pub fn connect_addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The name the server's certificate must match (SNI, unless an IP
    /// address): the host without IPv6 brackets.
    pub fn server_name(&self) -> Result<ServerName<'static>, PostError> {
        let host = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host);
        ServerName::try_from(host.to_string())
            .map_err(|_| PostError::BadServerName(self.host.clone()))
    }

    /// The `Host` header value: the port only when it is not the scheme's
    /// default.
    fn host_header(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.host.clone()
        } else {
            self.connect_addr()
        }
    }
}

fn split_host_port(authority: &str, default_port: u16) -> Option<(&str, u16)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let host = &authority[..=end];
        return match &authority[end + 1..] {
            "" => Some((host, default_port)),
            p => Some((host, p.strip_prefix(':')?.parse().ok()?)),
        };
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() => Some((h, p.parse().ok()?)),
        Some(_) => None,
        None => Some((authority, default_port)),
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
/// (connect, TLS handshake for `https://`, write, read the status line)
/// must finish within `timeout`. `tls` is needed for `https://` URLs only.
pub async fn post(
    req: &PostRequest<'_>,
    timeout: Duration,
    tls: Option<&WebhookTls>,
) -> Result<u16, PostError> {
    let bytes = req.encode()?;
    let addr = req.url.connect_addr();
    // Checked before connecting: a bad name or missing TLS client is not
    // worth a connection.
    let tls = match req.url.scheme {
        Scheme::Http => None,
        Scheme::Https => Some((
            tls.ok_or(PostError::TlsUnavailable)?,
            req.url.server_name()?,
        )),
    };
    let attempt = async {
        let tcp = TcpStream::connect(&addr).await?;
        match tls {
            None => exchange(tcp, &bytes).await,
            Some((client, name)) => {
                let stream = client.connect(name, tcp).await.map_err(PostError::Tls)?;
                exchange(stream, &bytes).await
            }
        }
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| PostError::Timeout)?
}

/// Writes the request and reads until the final status line.
async fn exchange<S>(mut stream: S, bytes: &[u8]) -> Result<u16, PostError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    stream.write_all(bytes).await?;
    // A no-op for TCP; pushes buffered TLS records out.
    stream.flush().await?;
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
}

/// Why a POST got no status code.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Not an `http[s]://host[:port][/path]` URL.
    #[error("unsupported webhook URL {0:?} (only http:// and https:// are supported)")]
    UnsupportedUrl(String),
    /// The host cannot be a TLS server name.
    #[error("invalid TLS server name {0:?}")]
    BadServerName(String),
    /// An `https://` URL but no TLS client (its setup failed, logged).
    #[error("https:// is unavailable: no TLS client")]
    TlsUnavailable,
    /// The TLS handshake failed: untrusted or mismatched certificate,
    /// protocol error, or the connection dropped during it.
    #[error("TLS handshake failed: {0}")]
    Tls(#[source] std::io::Error),
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
    fn parses_https_with_default_port_and_server_name() {
        let u = HttpUrl::parse("https://example.com/hook").unwrap();
        assert_eq!(u.scheme, Scheme::Https);
        assert_eq!((u.port, u.path.as_str()), (443, "/hook"));
        assert!(matches!(u.server_name().unwrap(), ServerName::DnsName(_)));
        let u = HttpUrl::parse("https://127.0.0.1:8443/").unwrap();
        assert_eq!(u.port, 8443);
        assert!(matches!(u.server_name().unwrap(), ServerName::IpAddress(_)));
        let u = HttpUrl::parse("https://[::1]/").unwrap();
        assert_eq!((u.connect_addr().as_str(), u.port), ("[::1]:443", 443));
        assert!(matches!(u.server_name().unwrap(), ServerName::IpAddress(_)));
        let u = HttpUrl::parse("http://h").unwrap();
        assert_eq!(u.scheme, Scheme::Http);
        assert!(HttpUrl::parse("https://bad_name!/")
            .unwrap()
            .server_name()
            .is_err());
    }

    #[test]
    fn host_header_omits_the_default_port_of_the_scheme() {
        let host = |url: &str| HttpUrl::parse(url).unwrap().host_header();
        assert_eq!(host("https://h/"), "h");
        assert_eq!(host("https://h:443/"), "h");
        assert_eq!(host("https://h:80/"), "h:80");
        assert_eq!(host("http://h:443/"), "h:443");
        assert_eq!(host("http://h:80/"), "h");
    }

    #[tokio::test]
    async fn https_without_a_tls_client_fails_before_connecting() {
        let url = HttpUrl::parse("https://127.0.0.1:1/").unwrap();
        let req = PostRequest {
            url: &url,
            headers: &[],
            body: b"",
        };
        let r = post(&req, Duration::from_secs(1), None).await;
        assert!(matches!(r, Err(PostError::TlsUnavailable)), "{r:?}");
    }

    #[test]
    fn refuses_other_schemes_and_malformed_urls() {
        for bad in [
            "HTTPS://x/",
            "https://",
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

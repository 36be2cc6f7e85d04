//! The `/rtc/v1` signaling client: URL and join request, and the protobuf
//! framing (one binary WebSocket frame per `SignalRequest` /
//! `SignalResponse`, LIVEKIT_PROTOCOL.md 1.5, 1.7).

use base64::Engine;
use livekit_protocol as proto;
use prost::Message as _;
use tokio_tungstenite::tungstenite::Message;

/// The protocol version we announce (LiveKit's current).
pub const PROTOCOL_VERSION: i32 = 17;

/// Why the signaling connection ended or could not start.
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    /// The URL is not `ws://` / `wss://` / `http(s)://`.
    #[error("bad server URL {0:?}")]
    BadUrl(String),
    /// The upgrade or a later frame failed.
    #[error("websocket: {0}")]
    Ws(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// The server closed the connection.
    #[error("server closed the signaling connection")]
    Closed,
    /// The server said to leave.
    #[error("server sent leave (reason {0})")]
    Leave(i32),
    /// The first message was not a JoinResponse in time.
    #[error("no JoinResponse")]
    NoJoin,
    /// The server refused a request.
    #[error("server refused: {0}")]
    Refused(String),
}

impl From<tokio_tungstenite::tungstenite::Error> for SignalError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        SignalError::Ws(Box::new(e))
    }
}

/// The join request we send: protocol 17, auto-subscribe on (subscribers
/// get every track of the room, as in `lk load-test`).
#[must_use]
pub fn join_request(auto_subscribe: bool) -> proto::JoinRequest {
    proto::JoinRequest {
        client_info: Some(proto::ClientInfo {
            sdk: proto::client_info::Sdk::Rust as i32,
            version: env!("CARGO_PKG_VERSION").to_string(),
            protocol: PROTOCOL_VERSION,
            client_protocol: 2,
            os: "linux".into(),
            device_model: "ringcast-load".into(),
            ..Default::default()
        }),
        connection_settings: Some(proto::ConnectionSettings {
            auto_subscribe,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `ws://host/rtc/v1?access_token=..&join_request=..` from the user's URL
/// (`http` becomes `ws`, `/rtc/v1` is appended to the existing path, as
/// the SDKs do, 1.2). The join request is base64url with padding of an
/// uncompressed `WrappedJoinRequest`.
pub fn join_url(base: &str, token: &str, join: &proto::JoinRequest) -> Result<String, SignalError> {
    let base = base.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if base.starts_with("ws://") || base.starts_with("wss://") {
        base.to_string()
    } else {
        return Err(SignalError::BadUrl(base.to_string()));
    };
    let wrapped = proto::WrappedJoinRequest {
        compression: proto::wrapped_join_request::Compression::None as i32,
        join_request: join.encode_to_vec(),
    };
    let jr = base64::engine::general_purpose::URL_SAFE.encode(wrapped.encode_to_vec());
    Ok(format!(
        "{ws}/rtc/v1?access_token={}&join_request={}",
        url_escape(token),
        url_escape(&jr)
    ))
}

/// Percent-escapes what a query value cannot hold (base64url's `=` and
/// anything unusual; JWTs and base64url are otherwise URL-safe).
fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One request as a WebSocket frame.
#[must_use]
pub fn frame(msg: proto::signal_request::Message) -> Message {
    let req = proto::SignalRequest { message: Some(msg) };
    Message::Binary(req.encode_to_vec().into())
}

/// A frame from the server as a response; `None` for control frames and
/// anything that does not decode (the SDKs drop those too).
#[must_use]
pub fn decode(msg: &Message) -> Option<proto::signal_response::Message> {
    match msg {
        Message::Binary(b) => proto::SignalResponse::decode(b.as_ref()).ok()?.message,
        _ => None,
    }
}

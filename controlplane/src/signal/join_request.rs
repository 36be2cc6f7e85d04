//! What a client asks for when it opens the signaling WebSocket.
//!
//! `/rtc` (dual PeerConnection) carries its settings as query parameters;
//! `/rtc/v1` (single PeerConnection) packs them in `join_request`: base64url
//! (padded or not) of a `WrappedJoinRequest`, optionally gzipped
//! (LIVEKIT_PROTOCOL.md 1.3-1.5).

use std::collections::HashMap;
use std::io::Read;

use base64::Engine;
use livekit_protocol as proto;
use prost::Message;

/// LiveKit caps the decompressed join request at 1 MiB (http.DefaultMaxHeaderBytes).
const MAX_JOIN_REQUEST_BYTES: u64 = 1024 * 1024;

/// Which signaling variant the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SignalVariant {
    /// `/rtc`: publisher + subscriber PeerConnections.
    DualPc,
    /// `/rtc/v1`: one PeerConnection, the client always offers.
    SinglePc,
}

/// The client's join settings, whichever variant carried them.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectParams {
    pub variant: SignalVariant,
    pub auto_subscribe: bool,
    pub adaptive_stream: bool,
    pub protocol: i32,
    pub client_protocol: i32,
    pub reconnect: bool,
    pub participant_sid: String,
    pub client_info: proto::ClientInfo,
    /// Metadata/attributes sent in the v1 join request (need canUpdateOwnMetadata).
    pub metadata: String,
    pub attributes: HashMap<String, String>,
    pub add_track_requests: Vec<proto::AddTrackRequest>,
    pub publisher_offer: Option<proto::SessionDescription>,
}

/// A join request we cannot use; answered with 400 before the upgrade.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoinRequestError {
    #[error("join_request is required")]
    Missing,
    #[error("invalid join_request: not base64url")]
    Base64,
    #[error("invalid join_request: {0}")]
    Decode(String),
    #[error("invalid join_request: decompressed size over limit")]
    TooLarge,
}

fn flag(q: &HashMap<String, String>, key: &str, default: bool) -> bool {
    match q.get(key).map(String::as_str) {
        Some("1") | Some("true") => true,
        Some("0") | Some("false") => false,
        _ => default,
    }
}

fn int(q: &HashMap<String, String>, key: &str, default: i32) -> i32 {
    q.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Reads `/rtc`'s query parameters.
pub fn from_v0_query(q: &HashMap<String, String>) -> ConnectParams {
    let sdk = match q.get("sdk").map(String::as_str) {
        Some("js") => proto::client_info::Sdk::Js,
        Some("python") => proto::client_info::Sdk::Python,
        Some("rust") => proto::client_info::Sdk::Rust,
        Some("go") => proto::client_info::Sdk::Go,
        Some("swift") => proto::client_info::Sdk::Swift,
        Some("android") => proto::client_info::Sdk::Android,
        Some("flutter") => proto::client_info::Sdk::Flutter,
        Some("reactnative") => proto::client_info::Sdk::ReactNative,
        Some("unity") => proto::client_info::Sdk::Unity,
        _ => proto::client_info::Sdk::Unknown,
    };
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let protocol = int(q, "protocol", 0);
    ConnectParams {
        variant: SignalVariant::DualPc,
        auto_subscribe: flag(q, "auto_subscribe", true),
        adaptive_stream: flag(q, "adaptive_stream", false),
        protocol,
        client_protocol: int(q, "client_protocol", 0),
        reconnect: flag(q, "reconnect", false),
        participant_sid: get("sid"),
        client_info: proto::ClientInfo {
            sdk: sdk as i32,
            version: get("version"),
            protocol,
            os: get("os"),
            os_version: get("os_version"),
            device_model: get("device_model"),
            browser: get("browser"),
            browser_version: get("browser_version"),
            network: get("network"),
            ..Default::default()
        },
        metadata: String::new(),
        attributes: HashMap::new(),
        add_track_requests: Vec::new(),
        publisher_offer: None,
    }
}

/// Decodes `/rtc/v1`'s `join_request` parameter.
pub fn from_v1_query(q: &HashMap<String, String>) -> Result<ConnectParams, JoinRequestError> {
    let raw = q.get("join_request").ok_or(JoinRequestError::Missing)?;
    let req = decode_join_request(raw)?;
    let settings = req.connection_settings.unwrap_or_default();
    let client_info = req.client_info.unwrap_or_default();
    Ok(ConnectParams {
        variant: SignalVariant::SinglePc,
        auto_subscribe: settings.auto_subscribe,
        adaptive_stream: settings.adaptive_stream,
        protocol: client_info.protocol,
        client_protocol: client_info.client_protocol,
        reconnect: req.reconnect,
        participant_sid: req.participant_sid,
        client_info,
        metadata: req.metadata,
        attributes: req.participant_attributes,
        add_track_requests: req.add_track_requests,
        publisher_offer: req.publisher_offer,
    })
}

/// base64url (padded or not, `+`/`/` tolerated) -> WrappedJoinRequest -> JoinRequest.
pub fn decode_join_request(raw: &str) -> Result<proto::JoinRequest, JoinRequestError> {
    let cleaned: String = raw
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cleaned.as_bytes())
        .map_err(|_| JoinRequestError::Base64)?;
    let wrapped = proto::WrappedJoinRequest::decode(bytes.as_slice())
        .map_err(|e| JoinRequestError::Decode(e.to_string()))?;
    let inner = if wrapped.compression == proto::wrapped_join_request::Compression::Gzip as i32 {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(wrapped.join_request.as_slice())
            .take(MAX_JOIN_REQUEST_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| JoinRequestError::Decode(format!("gzip: {e}")))?;
        if out.len() as u64 > MAX_JOIN_REQUEST_BYTES {
            return Err(JoinRequestError::TooLarge);
        }
        out
    } else {
        wrapped.join_request
    };
    proto::JoinRequest::decode(inner.as_slice())
        .map_err(|e| JoinRequestError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn encode(req: &proto::JoinRequest, gzip: bool, pad: bool) -> String {
        let inner = req.encode_to_vec();
        let (compression, join_request) = if gzip {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&inner).unwrap();
            (
                proto::wrapped_join_request::Compression::Gzip as i32,
                enc.finish().unwrap(),
            )
        } else {
            (proto::wrapped_join_request::Compression::None as i32, inner)
        };
        let w = proto::WrappedJoinRequest {
            compression,
            join_request,
        };
        let engine = if pad {
            base64::engine::general_purpose::URL_SAFE
        } else {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
        };
        engine.encode(w.encode_to_vec())
    }

    fn sample() -> proto::JoinRequest {
        proto::JoinRequest {
            client_info: Some(proto::ClientInfo {
                sdk: proto::client_info::Sdk::Python as i32,
                protocol: 17,
                client_protocol: 2,
                ..Default::default()
            }),
            connection_settings: Some(proto::ConnectionSettings {
                auto_subscribe: true,
                ..Default::default()
            }),
            publisher_offer: Some(proto::SessionDescription {
                r#type: "offer".into(),
                sdp: "v=0\r\n".into(),
                id: 0,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn join_request_decodes_plain_gzip_padded_and_unpadded() {
        for gzip in [false, true] {
            for pad in [false, true] {
                let mut q = HashMap::new();
                q.insert("join_request".to_string(), encode(&sample(), gzip, pad));
                let p = from_v1_query(&q).unwrap();
                assert_eq!(p.variant, SignalVariant::SinglePc);
                assert!(p.auto_subscribe);
                assert_eq!(p.protocol, 17);
                assert_eq!(p.publisher_offer.unwrap().r#type, "offer");
            }
        }
    }

    #[test]
    fn missing_or_garbage_join_request_is_an_error() {
        assert_eq!(
            from_v1_query(&HashMap::new()),
            Err(JoinRequestError::Missing)
        );
        let mut q = HashMap::new();
        q.insert("join_request".to_string(), "!!!".to_string());
        assert_eq!(from_v1_query(&q), Err(JoinRequestError::Base64));
        q.insert("join_request".to_string(), "AAAA".to_string());
        assert!(from_v1_query(&q).is_err());
    }

    #[test]
    fn v0_query_defaults_auto_subscribe_on() {
        let mut q = HashMap::new();
        q.insert("protocol".to_string(), "17".to_string());
        q.insert("sdk".to_string(), "js".to_string());
        let p = from_v0_query(&q);
        assert!(p.auto_subscribe);
        assert_eq!(p.protocol, 17);
        q.insert("auto_subscribe".to_string(), "0".to_string());
        assert!(!from_v0_query(&q).auto_subscribe);
    }
}

//! The first message of every session (LIVEKIT_PROTOCOL.md 2.1-2.5).

use livekit_protocol as proto;

use crate::participant::Participant;
use crate::{LIVEKIT_COMPAT_VERSION, PROTOCOL_VERSION};

/// LiveKit's ping cadence. Both must be non-zero: the Rust SDK panics on a
/// zero interval and gives up at once on a zero timeout.
pub const PING_INTERVAL_S: i32 = 5;
pub const PING_TIMEOUT_S: i32 = 15;

/// Our `ServerInfo`. JS refuses a server without a version and gates RPC on
/// >= 1.8.0, so we report the livekit-server release we follow.
pub fn server_info(node_id: &str, region: &str) -> proto::ServerInfo {
    proto::ServerInfo {
        edition: proto::server_info::Edition::Standard as i32,
        version: LIVEKIT_COMPAT_VERSION.to_string(),
        protocol: PROTOCOL_VERSION,
        region: region.to_string(),
        node_id: node_id.to_string(),
        debug_info: format!("ringcast {}", env!("CARGO_PKG_VERSION")),
        agent_protocol: 0,
    }
}

/// Client configuration: LiveKit's defaults (resume enabled: a dropped
/// signaling connection is resumed, see `signal/resume.rs`).
pub fn client_configuration() -> proto::ClientConfiguration {
    proto::ClientConfiguration::default()
}

/// The codecs a publisher may use, in preference order (RTX left out, as LiveKit does).
pub fn enabled_publish_codecs(mimes: &[String]) -> Vec<proto::Codec> {
    mimes
        .iter()
        .filter(|m| !m.to_ascii_lowercase().ends_with("/rtx"))
        .map(|m| proto::Codec {
            mime: m.clone(),
            fmtp_line: String::new(),
        })
        .collect()
}

/// Builds the JoinResponse for `me`.
pub fn join_response(
    room: proto::Room,
    me: &Participant,
    others: Vec<proto::ParticipantInfo>,
    server: proto::ServerInfo,
    codecs: Vec<proto::Codec>,
) -> proto::JoinResponse {
    proto::JoinResponse {
        room: Some(room),
        participant: Some(me.info()),
        other_participants: others,
        server_version: server.version.clone(),
        ice_servers: Vec::new(),
        subscriber_primary: me.subscriber_primary(),
        alternative_url: String::new(),
        client_configuration: Some(client_configuration()),
        server_region: server.region.clone(),
        ping_timeout: PING_TIMEOUT_S,
        ping_interval: PING_INTERVAL_S,
        server_info: Some(server),
        sif_trailer: Vec::new(),
        enabled_publish_codecs: codecs,
        fast_publish: me.grant.can_publish(),
    }
}

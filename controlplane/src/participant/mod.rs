//! A participant as the control plane sees it: identity, grants, the state
//! machine JOINING -> JOINED -> ACTIVE -> DISCONNECTED, its versioned
//! `ParticipantInfo`, and the outbound queue of its signaling WebSocket.
//!
//! `set.rs` is a room's collection of participants and the broadcast rules
//! (who is told what, in which order).

mod live_rooms;
mod outbox;
mod set;
mod tracks;

pub use live_rooms::*;
pub use outbox::*;
pub use set::*;
pub use tracks::*;

use std::collections::HashMap;

use livekit_protocol as proto;

use crate::auth::VideoGrant;
use crate::signal::join_request::SignalVariant;

pub type ParticipantState = proto::participant_info::State;

/// Which of a participant's PeerConnections a transport belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PcRole {
    /// The client's offering PC (`/rtc` publisher, or the single `/rtc/v1` PC).
    Publisher,
    /// The server's offering PC in `/rtc` (dual-PC) mode.
    Subscriber,
}

/// One participant of a room.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Participant {
    pub sid: String,
    /// The room's name.
    pub room: String,
    pub identity: String,
    pub name: String,
    pub metadata: String,
    pub attributes: HashMap<String, String>,
    pub state: ParticipantState,
    /// Increases on every change; the JS SDK drops updates with a lower one.
    pub version: u32,
    pub joined_at_ms: i64,
    pub grant: VideoGrant,
    pub variant: SignalVariant,
    pub protocol: i32,
    pub client_protocol: i32,
    pub auto_subscribe: bool,
    pub kind: i32,
    pub disconnect_reason: i32,
    /// Where this participant's signaling messages go. Not in a snapshot:
    /// a restored participant has no socket until it resumes.
    #[serde(skip)]
    pub outbox: Outbox,
    /// Bumped each time a signaling connection takes this participant
    /// (join, resume): a socket that closes acts only on its own generation.
    #[serde(skip)]
    pub signal_generation: u64,
    /// Set while no signaling connection is attached (it dropped without a
    /// Leave, or the participant was restored from a snapshot): removed
    /// unless it resumes by then.
    #[serde(skip)]
    pub detached_until: Option<std::time::Instant>,
    /// One of its transports failed (closed by the client, or consent ran
    /// out): nothing left to resume, so a dropped socket means leaving.
    #[serde(default)]
    pub transport_failed: bool,
    /// Next id for server-created offers (JS echoes it in its answer).
    pub next_offer_id: u32,
    /// The client-offering PC (`/rtc` publisher, or the one `/rtc/v1` PC).
    pub publisher_pc: Option<crate::media::LocalTransport>,
    /// The server-offering PC of `/rtc`.
    pub subscriber_pc: Option<crate::media::LocalTransport>,
    /// Pending and published tracks.
    pub tracks: Vec<PublishedTrack>,
    /// Track changes not yet reported (webhooks, room record).
    pub track_changes: Vec<TrackChange>,
    /// The subscriber PC's m-lines, so re-offers keep mids stable.
    pub subscriber_sdp: Option<crate::sdp::SubscriberSession>,
    /// The tracks it receives, and its side of their negotiation.
    pub subscriptions: crate::subscription::SubscriberState,
}

impl Participant {
    pub fn is_hidden(&self) -> bool {
        self.grant.hidden
    }

    /// The permission block of `ParticipantInfo`, from the token's grant.
    pub fn permission(&self) -> proto::ParticipantPermission {
        let sources = self
            .grant
            .can_publish_sources
            .iter()
            .filter_map(|s| source_from_grant_name(s))
            .map(|s| s as i32)
            .collect();
        proto::ParticipantPermission {
            can_subscribe: self.grant.can_subscribe(),
            can_publish: self.grant.can_publish(),
            can_publish_data: self.grant.can_publish_data(),
            can_publish_sources: sources,
            hidden: self.grant.hidden,
            can_update_metadata: self.grant.can_update_own_metadata(),
            can_subscribe_metrics: self.grant.can_subscribe_metrics.unwrap_or(false),
            can_manage_agent_session: self.grant.can_manage_agent_session.unwrap_or(false),
            ..Default::default()
        }
    }

    /// The `ParticipantInfo` others (and the participant itself) are sent.
    pub fn info(&self) -> proto::ParticipantInfo {
        proto::ParticipantInfo {
            sid: self.sid.clone(),
            identity: self.identity.clone(),
            state: self.state as i32,
            tracks: self
                .tracks
                .iter()
                .filter(|t| t.published)
                .map(|t| t.info.clone())
                .collect(),
            metadata: self.metadata.clone(),
            joined_at: self.joined_at_ms / 1000,
            joined_at_ms: self.joined_at_ms,
            name: self.name.clone(),
            version: self.version,
            permission: Some(self.permission()),
            is_publisher: self.tracks.iter().any(|t| t.published),
            kind: self.kind,
            attributes: self.attributes.clone(),
            disconnect_reason: self.disconnect_reason,
            client_protocol: self.client_protocol,
            ..Default::default()
        }
    }

    /// Moves the state machine forward. Going backwards is refused, so a late
    /// "connected" event cannot resurrect a participant that already left.
    pub fn advance(&mut self, to: ParticipantState) -> bool {
        if (to as i32) <= (self.state as i32) {
            return false;
        }
        self.state = to;
        self.version += 1;
        true
    }

    /// Whether the server offers a subscriber PC first (LIVEKIT_PROTOCOL 2.7).
    pub fn subscriber_primary(&self) -> bool {
        self.variant == SignalVariant::DualPc && self.protocol > 2 && self.grant.can_subscribe()
    }
}

/// Maps the grant's source names to `TrackSource`.
pub fn source_from_grant_name(s: &str) -> Option<proto::TrackSource> {
    match s {
        "camera" => Some(proto::TrackSource::Camera),
        "microphone" => Some(proto::TrackSource::Microphone),
        "screen_share" => Some(proto::TrackSource::ScreenShare),
        "screen_share_audio" => Some(proto::TrackSource::ScreenShareAudio),
        _ => None,
    }
}

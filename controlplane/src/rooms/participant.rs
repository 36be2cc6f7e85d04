//! The participants of one room as the RoomService sees them.
//!
//! Live participants arrive with the signaling work; until then every room's
//! map stays empty and the participant-acting RoomService calls answer
//! `not_found`, as LiveKit does for an unknown identity.

use std::collections::BTreeMap;

use livekit_protocol as proto;

/// One participant entry: what `ListParticipants`/`GetParticipant` return.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParticipantEntry {
    /// The token's identity, unique within the room.
    pub identity: String,
    /// `PA_...`.
    pub sid: String,
    /// The latest info sent to clients.
    pub info: proto::ParticipantInfo,
}

/// A room's participants keyed by identity (ordered, so listings are stable).
pub type ParticipantMap = BTreeMap<String, ParticipantEntry>;

//! The calls the signaling code makes at participant transitions. Room
//! events come from the room registry itself (`RoomRegistry::set_webhooks`).

use livekit_protocol as proto;

use crate::server::AppState;

/// The room as webhooks report it; just the name when it is already gone.
fn room_info(state: &AppState, room: &str) -> proto::Room {
    state
        .rooms
        .get(room)
        .map(|r| r.to_proto())
        .unwrap_or_else(|| proto::Room {
            name: room.to_string(),
            ..Default::default()
        })
}

/// The participant became ACTIVE: `participant_joined`.
pub fn on_participant_active(state: &AppState, room: &str, info: proto::ParticipantInfo) {
    if state.webhooks.is_enabled() {
        state
            .webhooks
            .participant_joined(room_info(state, room), info);
    }
}

/// The participant is out of the room (left, removed, evicted):
/// `participant_left`, or `participant_connection_aborted` if it never
/// became ACTIVE.
pub fn on_participant_gone(state: &AppState, room: &str, info: proto::ParticipantInfo) {
    if state.webhooks.is_enabled() {
        state
            .webhooks
            .participant_left(room_info(state, room), info);
    }
}

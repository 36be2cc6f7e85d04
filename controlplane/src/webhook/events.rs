//! Building `WebhookEvent`s with LiveKit's event names, ids and timestamps.

use livekit_protocol as proto;

/// A room was created.
pub const ROOM_STARTED: &str = "room_started";
/// A room was closed (deleted or timed out).
pub const ROOM_FINISHED: &str = "room_finished";
/// A participant became ACTIVE.
pub const PARTICIPANT_JOINED: &str = "participant_joined";
/// An ACTIVE participant left.
pub const PARTICIPANT_LEFT: &str = "participant_left";
/// A participant left without ever becoming ACTIVE.
pub const PARTICIPANT_CONNECTION_ABORTED: &str = "participant_connection_aborted";

/// The prefix of event ids (LiveKit `utils.NewGuid(utils.EventPrefix)`).
pub const EVENT_ID_PREFIX: &str = "EV_";

/// A new event id: `EV_` and a guid.
pub fn event_id() -> String {
    crate::ids::guid(EVENT_ID_PREFIX)
}

/// An event named `name` about `room` (and `participant`), stamped with a
/// fresh id and `created_at` (Unix seconds).
pub fn event(
    name: &str,
    room: Option<proto::Room>,
    participant: Option<proto::ParticipantInfo>,
) -> proto::WebhookEvent {
    proto::WebhookEvent {
        event: name.to_string(),
        room,
        participant,
        id: event_id(),
        created_at: i64::try_from(crate::auth::unix_now()).unwrap_or(i64::MAX),
        ..Default::default()
    }
}

/// `room_finished`, with why the room ended.
pub fn room_finished_event(room: proto::Room, reason: proto::RoomEndReason) -> proto::WebhookEvent {
    proto::WebhookEvent {
        room_end_reason: reason as i32,
        ..event(ROOM_FINISHED, Some(room), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_has_ev_id_and_current_created_at() {
        let e = event(ROOM_STARTED, Some(proto::Room::default()), None);
        assert!(e.id.starts_with("EV_"));
        assert_eq!(e.id.len(), 3 + crate::ids::RANDOM_LEN);
        let now = crate::auth::unix_now() as i64;
        assert!((now - e.created_at).abs() <= 1);
        assert_eq!(e.event, "room_started");
    }

    #[test]
    fn room_finished_carries_end_reason() {
        let e = room_finished_event(
            proto::Room::default(),
            proto::RoomEndReason::RoomEndApiDelete,
        );
        assert_eq!(e.event, ROOM_FINISHED);
        assert_eq!(
            e.room_end_reason,
            proto::RoomEndReason::RoomEndApiDelete as i32
        );
    }
}

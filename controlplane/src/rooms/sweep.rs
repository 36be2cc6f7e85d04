//! Closing rooms nobody uses: LiveKit closes a room `empty_timeout` seconds
//! after creation if nobody ever joined, and `departure_timeout` seconds
//! after the last participant left.

use std::sync::Weak;
use std::time::Duration;

use super::{RegistryInner, Room};

/// How often the background task looks for expired rooms.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

impl Room {
    /// Whether the room should be closed at `now_ms` (unix milliseconds).
    /// Pure so the rule can be tested without clocks or tasks.
    pub fn expired(&self, now_ms: i64) -> bool {
        if !self.participants.is_empty() {
            return false;
        }
        let (since_ms, timeout_s) = match self.last_left_ms {
            Some(left) => (left, self.departure_timeout),
            None => (self.creation_time_ms, self.empty_timeout),
        };
        now_ms.saturating_sub(since_ms) >= i64::from(timeout_s) * 1000
    }
}

/// Sweeps `inner` every [`SWEEP_INTERVAL`] until the registry is dropped.
pub(super) async fn sweep_loop(inner: Weak<RegistryInner>) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        for room in inner.remove_expired(super::now_ms()) {
            tracing::info!(room = %room.name, sid = %room.sid, "closing empty room");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rooms::{ParticipantEntry, ParticipantMap};
    use livekit_protocol as proto;

    fn room(created_ms: i64, empty: u32, departure: u32) -> Room {
        Room {
            sid: "RM_test".into(),
            name: "r".into(),
            creation_time: created_ms / 1000,
            creation_time_ms: created_ms,
            empty_timeout: empty,
            departure_timeout: departure,
            max_participants: 0,
            metadata: String::new(),
            enabled_codecs: Vec::new(),
            version: proto::TimedVersion::default(),
            num_participants: 0,
            num_publishers: 0,
            participants: ParticipantMap::new(),
            last_left_ms: None,
        }
    }

    #[test]
    fn never_joined_room_expires_after_empty_timeout() {
        let r = room(10_000, 5, 20);
        assert!(!r.expired(10_000));
        assert!(!r.expired(14_999));
        assert!(r.expired(15_000));
    }

    #[test]
    fn room_with_participants_never_expires() {
        let mut r = room(0, 1, 1);
        r.participants.insert(
            "alice".into(),
            ParticipantEntry {
                identity: "alice".into(),
                sid: "PA_x".into(),
                info: proto::ParticipantInfo::default(),
            },
        );
        assert!(!r.expired(1_000_000));
    }

    #[test]
    fn room_left_empty_uses_departure_timeout() {
        let mut r = room(0, 300, 20);
        r.last_left_ms = Some(100_000);
        assert!(!r.expired(119_999));
        assert!(r.expired(120_000));
    }

    #[test]
    fn clock_going_backwards_does_not_expire() {
        let r = room(50_000, 10, 0);
        assert!(!r.expired(40_000));
    }
}

//! One room's record: the fields of LiveKit's `Room` model.

use livekit_protocol as proto;

use super::ParticipantMap;

/// A room on this node.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Room {
    /// `RM_...`.
    pub sid: String,
    pub name: String,
    /// Unix seconds.
    pub creation_time: i64,
    /// Unix milliseconds.
    pub creation_time_ms: i64,
    /// Seconds the room stays open while nobody ever joined.
    pub empty_timeout: u32,
    /// Seconds the room stays open after the last participant left.
    pub departure_timeout: u32,
    /// 0 means unlimited.
    pub max_participants: u32,
    pub metadata: String,
    /// `(mime, fmtp_line)` pairs, the config's `room.enabled_codecs`.
    pub enabled_codecs: Vec<(String, String)>,
    /// Bumped on every change the clients must see (metadata etc.).
    pub version: proto::TimedVersion,
    pub num_participants: u32,
    pub num_publishers: u32,
    /// Who is in the room (empty until live participants land).
    pub participants: ParticipantMap,
    /// Unix ms when the last participant left; `None` while somebody is in
    /// the room or nobody ever joined.
    pub last_left_ms: Option<i64>,
}

impl Room {
    /// The `livekit.Room` message for clients and the RoomService.
    pub fn to_proto(&self) -> proto::Room {
        proto::Room {
            sid: self.sid.clone(),
            name: self.name.clone(),
            empty_timeout: self.empty_timeout,
            departure_timeout: self.departure_timeout,
            max_participants: self.max_participants,
            creation_time: self.creation_time,
            creation_time_ms: self.creation_time_ms,
            turn_password: String::new(),
            enabled_codecs: self
                .enabled_codecs
                .iter()
                .map(|(mime, fmtp)| proto::Codec {
                    mime: mime.clone(),
                    fmtp_line: fmtp.clone(),
                })
                .collect(),
            metadata: self.metadata.clone(),
            num_participants: self.num_participants,
            num_publishers: self.num_publishers,
            active_recording: false,
            version: Some(self.version),
        }
    }

    /// Marks a change clients must see: LiveKit's `TimedVersion` is unix
    /// microseconds plus a tick that orders changes within one microsecond.
    pub fn bump_version(&mut self, now_unix_micros: i64) {
        if now_unix_micros > self.version.unix_micro {
            self.version = proto::TimedVersion {
                unix_micro: now_unix_micros,
                ticks: 0,
            };
        } else {
            self.version.ticks = self.version.ticks.saturating_add(1);
        }
    }
}

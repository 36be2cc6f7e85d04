//! Connection quality: the dataplane's per-transport loss and jitter
//! (`Event::LinkQuality`, once a second) are summed per participant, scored
//! every [`UPDATE_INTERVAL`] and sent as `ConnectionQualityUpdate`, as
//! livekit-server does: each participant hears about itself and about the
//! publishers it is subscribed to.

mod score;

pub use score::{score, LinkSample, QualityWindow, EXCELLENT_FROM, GOOD_FROM, MAX_SCORE};

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use livekit_protocol as proto;
use proto::signal_response::Message as Resp;

use crate::participant::ParticipantSet;
use crate::server::AppState;

/// LiveKit's pace for ConnectionQualityUpdate.
pub const UPDATE_INTERVAL: Duration = Duration::from_secs(5);

/// Every room's quality windows, by participant sid.
#[derive(Debug, Default)]
pub struct ConnectionQualities {
    rooms: Mutex<HashMap<String, HashMap<String, QualityWindow>>>,
}

impl ConnectionQualities {
    pub fn observe(&self, room: &str, sid: &str, sample: LinkSample) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms
            .entry(room.to_string())
            .or_default()
            .entry(sid.to_string())
            .or_default()
            .add(sample);
    }

    /// The windows of `room` since the last call; they start over.
    fn take(&self, room: &str) -> HashMap<String, QualityWindow> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.remove(room).unwrap_or_default()
    }
}

/// Scores everyone in `set` from `windows` and sends each participant its
/// update. Returns the scores, for logs and tests.
pub fn send_updates(
    set: &ParticipantSet,
    windows: &HashMap<String, QualityWindow>,
) -> Vec<proto::ConnectionQualityInfo> {
    let infos: Vec<proto::ConnectionQualityInfo> = set
        .iter()
        .map(|p| {
            let w = windows.get(&p.sid).copied().unwrap_or_default();
            let expects_media = p.tracks.iter().any(|t| t.published && !t.info.muted);
            let (quality, score) = score(&w, expects_media);
            proto::ConnectionQualityInfo {
                participant_sid: p.sid.clone(),
                quality: quality as i32,
                score,
            }
        })
        .collect();
    for p in set.iter() {
        let updates: Vec<proto::ConnectionQualityInfo> = infos
            .iter()
            .filter(|i| {
                i.participant_sid == p.sid
                    || p.subscriptions
                        .subs
                        .values()
                        .any(|s| s.publisher_sid == i.participant_sid)
            })
            .cloned()
            .collect();
        p.outbox
            .send(Resp::ConnectionQuality(proto::ConnectionQualityUpdate {
                updates,
            }));
    }
    infos
}

/// Sends every room its connection-quality updates on a timer.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(UPDATE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tick.tick().await;
    loop {
        tick.tick().await;
        for room in state.live.names() {
            let windows = state.quality.take(&room);
            state.live.with(&room, |set| {
                let infos = send_updates(set, &windows);
                tracing::debug!(%room, ?infos, "connection quality");
            });
        }
    }
}

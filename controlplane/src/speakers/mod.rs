//! Active-speaker detection: the dataplane's per-stream audio levels
//! (`Event::AudioLevel`) feed one [`RoomSpeakers`] per room, evaluated on a
//! timer; changes go to everyone in the room as `SpeakersChanged`.

mod detector;

pub use detector::{RoomSpeakers, UPDATE_INTERVAL};

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use livekit_protocol as proto;
use proto::signal_response::Message as Resp;

use crate::server::AppState;

/// Every room's speaker state.
#[derive(Debug, Default)]
pub struct Speakers {
    rooms: Mutex<HashMap<String, RoomSpeakers>>,
}

impl Speakers {
    pub fn observe(&self, room: &str, sid: &str, level: f32, loud: u16, packets: u16) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.entry(room.to_string()).or_default().observe(
            sid,
            level,
            loud,
            packets,
            Instant::now(),
        );
    }

    pub fn forget(&self, room: &str, sid: &str) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = rooms.get_mut(room) {
            r.forget(sid);
        }
    }

    /// Evaluates every room; returns the rooms whose speakers changed.
    fn evaluate(&self, now: Instant) -> Vec<(String, Vec<proto::SpeakerInfo>)> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for (room, r) in rooms.iter_mut() {
            if let Some(changed) = r.evaluate(now) {
                out.push((room.clone(), changed));
            }
        }
        rooms.retain(|_, r| !r.is_empty());
        out
    }
}

/// Evaluates speakers on a timer and tells each room about changes.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        for (room, speakers) in state.speakers.evaluate(Instant::now()) {
            tracing::debug!(%room, ?speakers, "speakers changed");
            state.live.with(&room, |set| {
                set.send_all(|| {
                    Resp::SpeakersChanged(proto::SpeakersChanged {
                        speakers: speakers.clone(),
                    })
                })
            });
        }
    }
}

//! Who is speaking in one room, from the audio levels the dataplane reports
//! (LIVEKIT_PROTOCOL.md / livekit-server's audio level observer): levels are
//! averaged per observation window, a participant speaks when the window
//! is loud enough (louder than `active_level` dBov) for enough of its
//! packets, and the level is smoothed over two windows. Plain state: the
//! caller supplies the time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use livekit_protocol as proto;

/// How often the speaker set is evaluated (LiveKit `audio.update_interval`).
pub const UPDATE_INTERVAL: Duration = Duration::from_millis(500);
/// Share of a window's packets that must be loud (`audio.min_percentile`).
const MIN_LOUD_SHARE: f32 = 0.4;
/// The quietest mean level that counts as speech: -30 dBov
/// (`audio.active_level` 30), linear.
const ACTIVE_LEVEL: f32 = 0.031_622_78;
/// Without a level for this long, a participant is silent (muted, DTX, gone).
const STALE: Duration = Duration::from_secs(1);

#[derive(Debug, Default, Clone, Copy)]
struct Window {
    level_sum: f32,
    loud: u32,
    packets: u32,
}

#[derive(Debug, Clone, Copy)]
struct Participant {
    window: Window,
    smoothed: f32,
    last_heard: Instant,
}

/// The speaker state of one room.
#[derive(Debug, Default)]
pub struct RoomSpeakers {
    participants: HashMap<String, Participant>,
    /// The last announced active speakers, loudest first.
    active: Vec<String>,
    next_eval: Option<Instant>,
}

impl RoomSpeakers {
    /// One report: mean linear `level` over `packets` packets, `loud` of them
    /// louder than the speaking threshold.
    pub fn observe(&mut self, sid: &str, level: f32, loud: u16, packets: u16, now: Instant) {
        if packets == 0 || !level.is_finite() {
            return;
        }
        let p = self
            .participants
            .entry(sid.to_string())
            .or_insert(Participant {
                window: Window::default(),
                smoothed: 0.0,
                last_heard: now,
            });
        p.window.level_sum += level.clamp(0.0, 1.0) * f32::from(packets);
        p.window.loud += u32::from(loud);
        p.window.packets += u32::from(packets);
        p.last_heard = now;
    }

    /// A participant left: it stops speaking at the next evaluation.
    pub fn forget(&mut self, sid: &str) {
        self.participants.remove(sid);
    }

    /// Once per [`UPDATE_INTERVAL`]: the speakers whose state changed, if the
    /// active set or its order changed (active ones loudest first, then those
    /// that stopped with level 0 and `active: false`).
    pub fn evaluate(&mut self, now: Instant) -> Option<Vec<proto::SpeakerInfo>> {
        let due = self.next_eval.get_or_insert(now + UPDATE_INTERVAL);
        if now < *due {
            return None;
        }
        *due = now + UPDATE_INTERVAL;
        let mut speaking: Vec<(String, f32)> = Vec::new();
        self.participants.retain(|sid, p| {
            let stale = now.saturating_duration_since(p.last_heard) > STALE;
            let w = std::mem::take(&mut p.window);
            let mean = if w.packets > 0 {
                w.level_sum / w.packets as f32
            } else {
                0.0
            };
            p.smoothed = (p.smoothed + mean) / 2.0;
            let loud_share = if w.packets > 0 {
                w.loud as f32 / w.packets as f32
            } else {
                0.0
            };
            if !stale && mean >= ACTIVE_LEVEL && loud_share >= MIN_LOUD_SHARE {
                speaking.push((sid.clone(), p.smoothed.max(mean)));
            }
            !stale || w.packets > 0
        });
        speaking.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let now_active: Vec<String> = speaking.iter().map(|(s, _)| s.clone()).collect();
        if now_active == self.active {
            return None;
        }
        let mut changed: Vec<proto::SpeakerInfo> = speaking
            .iter()
            .map(|(sid, level)| proto::SpeakerInfo {
                sid: sid.clone(),
                level: *level,
                active: true,
            })
            .collect();
        for old in &self.active {
            if !now_active.contains(old) {
                changed.push(proto::SpeakerInfo {
                    sid: old.clone(),
                    level: 0.0,
                    active: false,
                });
            }
        }
        self.active = now_active;
        Some(changed)
    }

    /// The current level of `sid` (smoothed), for ParticipantInfo-like reports.
    pub fn level(&self, sid: &str) -> f32 {
        self.participants.get(sid).map_or(0.0, |p| p.smoothed)
    }

    pub fn is_empty(&self) -> bool {
        self.participants.is_empty() && self.active.is_empty()
    }
}

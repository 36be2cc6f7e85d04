//! From loss and jitter to LiveKit's connection quality.
//!
//! LiveKit scores a MOS-like value between 1 and 4.5 from packet loss,
//! jitter and bitrate; we use loss and jitter only: 4.5 minus 0.12 per
//! percent lost (the worse of what we lost from the participant and what it
//! reports losing from us) minus 0.01 per millisecond of jitter above 30.
//! Above [`EXCELLENT_FROM`] is EXCELLENT (up to ~2% loss), above
//! [`GOOD_FROM`] GOOD (up to ~7%), below that POOR; a participant with
//! published, unmuted tracks from which nothing arrived in the window is
//! LOST.

use livekit_protocol as proto;

pub const MAX_SCORE: f32 = 4.5;
pub const MIN_SCORE: f32 = 1.0;
pub const EXCELLENT_FROM: f32 = 4.1;
pub const GOOD_FROM: f32 = 3.6;
const PER_PERCENT_LOST: f32 = 0.12;
const JITTER_FREE_MS: f32 = 30.0;
const PER_MS_JITTER: f32 = 0.01;

/// One `Event::LinkQuality` of one of the participant's transports.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkSample {
    pub up_expected: u32,
    pub up_lost: u32,
    /// Fraction of 256.
    pub down_loss: u8,
    pub down_jitter_ms: u16,
    pub down_reports: u16,
}

/// A participant's samples since the last update.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QualityWindow {
    pub up_expected: u64,
    pub up_lost: u64,
    pub worst_down_loss: u8,
    pub worst_jitter_ms: u16,
    pub down_reports: u32,
}

impl QualityWindow {
    pub fn add(&mut self, s: LinkSample) {
        self.up_expected += u64::from(s.up_expected);
        self.up_lost += u64::from(s.up_lost);
        if s.down_reports > 0 {
            self.worst_down_loss = self.worst_down_loss.max(s.down_loss);
            self.worst_jitter_ms = self.worst_jitter_ms.max(s.down_jitter_ms);
            self.down_reports += u32::from(s.down_reports);
        }
    }

    /// Percent of packets lost, the worse direction.
    pub fn loss_percent(&self) -> f32 {
        let up = if self.up_expected > 0 {
            self.up_lost as f32 * 100.0 / self.up_expected as f32
        } else {
            0.0
        };
        let down = if self.down_reports > 0 {
            f32::from(self.worst_down_loss) * 100.0 / 256.0
        } else {
            0.0
        };
        up.max(down)
    }
}

/// The quality and score for one window. `expects_media`: the participant
/// has published tracks that are not muted, so silence from it means its
/// connection is gone.
pub fn score(w: &QualityWindow, expects_media: bool) -> (proto::ConnectionQuality, f32) {
    if expects_media && w.up_expected == 0 {
        return (proto::ConnectionQuality::Lost, 0.0);
    }
    let jitter_over = (f32::from(w.worst_jitter_ms) - JITTER_FREE_MS).max(0.0);
    let s = (MAX_SCORE - w.loss_percent() * PER_PERCENT_LOST - jitter_over * PER_MS_JITTER)
        .clamp(MIN_SCORE, MAX_SCORE);
    let q = if s >= EXCELLENT_FROM {
        proto::ConnectionQuality::Excellent
    } else if s >= GOOD_FROM {
        proto::ConnectionQuality::Good
    } else {
        proto::ConnectionQuality::Poor
    };
    (q, s)
}

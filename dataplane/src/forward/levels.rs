//! Audio levels of publisher streams (RFC 6464 header extension), summed
//! per window and reported to the control plane, which decides who speaks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ringcast_shared::records::{Event, TransportId};

use crate::rtp::AudioLevel;

/// How often levels are reported.
pub const LEVEL_WINDOW: Duration = Duration::from_millis(100);
/// Audio streams tracked at once per worker; more are not measured.
const MAX_STREAMS: usize = 4096;
/// Louder than this (-dBov) counts as speech: livekit-server's default
/// `audio.active_level` (the V flag is not trusted: encoders differ).
const LOUD_DBOV: u8 = 30;

#[derive(Default, Clone, Copy)]
struct Acc {
    sum: f32,
    packets: u16,
    voiced: u16,
}

/// Per-stream sums for the current window.
pub struct AudioLevels {
    linear: [f32; 128],
    streams: HashMap<(TransportId, u32), Acc>,
    next_flush: Option<Instant>,
}

impl Default for AudioLevels {
    fn default() -> Self {
        Self::new()
    }
}

impl AudioLevels {
    pub fn new() -> Self {
        let mut linear = [0f32; 128];
        for (dbov, l) in linear.iter_mut().enumerate() {
            *l = if dbov == 127 {
                0.0
            } else {
                10f32.powf(-(dbov as f32) / 20.0)
            };
        }
        Self {
            linear,
            streams: HashMap::with_capacity(256),
            next_flush: None,
        }
    }

    pub fn add(&mut self, source: TransportId, ssrc: u32, level: AudioLevel) {
        let len = self.streams.len();
        let acc = match self.streams.get_mut(&(source, ssrc)) {
            Some(a) => a,
            None if len < MAX_STREAMS => self.streams.entry((source, ssrc)).or_default(),
            None => return,
        };
        acc.sum += self.linear[usize::from(level.dbov & 0x7f)];
        acc.packets = acc.packets.saturating_add(1);
        if level.dbov <= LOUD_DBOV {
            acc.voiced = acc.voiced.saturating_add(1);
        }
    }

    /// Once per window: one `AudioLevel` event per stream heard in it.
    pub fn flush(&mut self, now: Instant, mut emit: impl FnMut(Event)) {
        let due = self.next_flush.get_or_insert(now + LEVEL_WINDOW);
        if now < *due {
            return;
        }
        *due = now + LEVEL_WINDOW;
        self.streams.retain(|&(id, ssrc), acc| {
            if acc.packets == 0 {
                return false;
            }
            emit(Event::AudioLevel {
                id,
                ssrc,
                level: acc.sum / f32::from(acc.packets),
                voiced: acc.voiced,
                packets: acc.packets,
            });
            *acc = Acc::default();
            true
        });
    }

    pub fn forget(&mut self, source: TransportId) {
        self.streams.retain(|(id, _), _| *id != source);
    }
}

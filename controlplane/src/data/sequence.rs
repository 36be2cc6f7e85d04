//! The last reliable sequence seen from each sender, so a packet the client
//! re-sends after a resume (LIVEKIT_PROTOCOL.md §2.14) is not delivered twice
//! (§5.6: drop reliable packets whose sequence is <= the last one seen).

use std::collections::HashMap;

/// Senders remembered at most; beyond this the oldest knowledge is dropped
/// wholesale (a sender then starts afresh, which only risks a duplicate).
pub const MAX_SENDERS: usize = 64 * 1024;

/// Last reliable sequence per sender, keyed by (room, participant sid).
#[derive(Debug, Default)]
pub struct SequenceTracker {
    last: HashMap<(String, String), u32>,
}

impl SequenceTracker {
    /// Whether a reliable packet with `sequence` from `sid` is new, recording
    /// it if so. Sequence 0 means "not numbered" (server packets, old
    /// clients) and is always accepted.
    pub fn accept(&mut self, room: &str, sid: &str, sequence: u32) -> bool {
        if sequence == 0 {
            return true;
        }
        if let Some(last) = self.last.get_mut(&(room.to_string(), sid.to_string())) {
            if sequence <= *last {
                return false;
            }
            *last = sequence;
            return true;
        }
        if self.last.len() >= MAX_SENDERS {
            self.last.clear();
        }
        self.last
            .insert((room.to_string(), sid.to_string()), sequence);
        true
    }

    /// The last reliable sequence accepted from `sid` (for resume's
    /// `last_message_seq`), 0 if none.
    pub fn last(&self, room: &str, sid: &str) -> u32 {
        self.last
            .get(&(room.to_string(), sid.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Keeps only senders for which `live` is true (called now and then, so
    /// departed participants are forgotten).
    pub fn retain(&mut self, mut live: impl FnMut(&str, &str) -> bool) {
        self.last.retain(|(room, sid), _| live(room, sid));
    }

    pub fn len(&self) -> usize {
        self.last.len()
    }

    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }
}

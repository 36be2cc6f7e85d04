//! The client's receive m-lines on the single `/rtc/v1` PeerConnection
//! (LIVEKIT_PROTOCOL.md 2.9): the client always offers, with recvonly audio
//! and video m-lines; each subscription borrows one of its kind by mid and
//! keeps it across offers. A freed m-line is answered inactive once before
//! another track may use it, so the client sees the old track end first.
//! When there are not enough, the client is asked for more with
//! `MediaSectionsRequirement`.

use livekit_protocol as proto;

use crate::sdp::{Direction, MediaKind, SessionDescription};

/// What a receive m-line is doing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SlotUse {
    /// Nothing on it; may be given to a subscription.
    Free,
    /// Carries (or will carry, once answered) this track.
    Track(String),
    /// Its track ended; the next answer shows it inactive, then it is free.
    Releasing,
}

/// One receive m-line of the client's offer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Slot {
    pub mid: String,
    pub kind: MediaKind,
    pub used: SlotUse,
}

/// The client's receive m-lines and the extra ones we asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecvSlots {
    slots: Vec<Slot>,
    /// Whether a client offer was seen yet (before it, nothing is known).
    seen_offer: bool,
    /// m-lines asked for (audio, video) that no offer has shown yet.
    outstanding: [u32; 2],
    /// A re-offer was asked for and no offer arrived since.
    reoffer_asked: bool,
}

fn kind_index(kind: &MediaKind) -> Option<usize> {
    match kind {
        MediaKind::Audio => Some(0),
        MediaKind::Video => Some(1),
        _ => None,
    }
}

impl RecvSlots {
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    pub fn seen_offer(&self) -> bool {
        self.seen_offer
    }

    /// Learns the m-lines of a new client offer. Slots whose m-line is gone
    /// or no longer receives are dropped; their tracks are returned so the
    /// caller can look for another slot. New recvonly m-lines become free
    /// slots and count against what we asked for.
    pub fn sync_offer(&mut self, offer: &SessionDescription) -> Vec<String> {
        self.seen_offer = true;
        self.reoffer_asked = false;
        let mut lost = Vec::new();
        self.slots.retain(|s| {
            let still = offer
                .media_by_mid(&s.mid)
                .is_some_and(|m| !m.is_rejected() && m.kind == s.kind && m.direction.receives());
            if !still {
                if let SlotUse::Track(t) = &s.used {
                    lost.push(t.clone());
                }
            }
            still
        });
        for m in &offer.media {
            let Some(k) = kind_index(&m.kind) else {
                continue;
            };
            let Some(mid) = m.mid.as_deref() else {
                continue;
            };
            if m.is_rejected() || m.direction != Direction::RecvOnly {
                continue;
            }
            if self.slots.iter().any(|s| s.mid == mid) {
                continue;
            }
            self.slots.push(Slot {
                mid: mid.to_owned(),
                kind: m.kind.clone(),
                used: SlotUse::Free,
            });
            if let Some(o) = self.outstanding.get_mut(k) {
                *o = o.saturating_sub(1);
            }
        }
        lost
    }

    /// Gives a free slot of `kind` to `track_sid`; returns its mid.
    pub fn assign(&mut self, kind: &MediaKind, track_sid: &str) -> Option<String> {
        if let Some(s) = self
            .slots
            .iter()
            .find(|s| matches!(&s.used, SlotUse::Track(t) if t == track_sid))
        {
            return Some(s.mid.clone());
        }
        let s = self
            .slots
            .iter_mut()
            .find(|s| &s.kind == kind && s.used == SlotUse::Free)?;
        s.used = SlotUse::Track(track_sid.to_owned());
        Some(s.mid.clone())
    }

    /// The track on `mid` ended. `answered`: an answer already carried it,
    /// so the client must see the m-line inactive before it is reused.
    pub fn release(&mut self, mid: &str, answered: bool) {
        if let Some(s) = self.slots.iter_mut().find(|s| s.mid == mid) {
            s.used = if answered {
                SlotUse::Releasing
            } else {
                SlotUse::Free
            };
        }
    }

    /// An answer was sent: the m-lines it showed inactive are free now.
    pub fn answered(&mut self) {
        for s in &mut self.slots {
            if s.used == SlotUse::Releasing {
                s.used = SlotUse::Free;
            }
        }
    }

    /// Whether some m-line waits for an answer to show it inactive.
    pub fn has_releasing(&self) -> bool {
        self.slots.iter().any(|s| s.used == SlotUse::Releasing)
    }

    fn free_count(&self, k: usize) -> u32 {
        self.slots
            .iter()
            .filter(|s| kind_index(&s.kind) == Some(k) && s.used == SlotUse::Free)
            .count() as u32
    }

    /// What to ask of the client, if anything: `waiting` is how many
    /// subscriptions (audio, video) have no m-line yet, `changed` whether an
    /// answer must carry something new (a track placed, a track ended).
    /// Counts the request as sent.
    pub fn requirement(
        &mut self,
        waiting: [u32; 2],
        changed: bool,
    ) -> Option<proto::MediaSectionsRequirement> {
        if !self.seen_offer {
            // The client's first offer is on its way and settles everything.
            return None;
        }
        let mut need = [0u32; 2];
        for (k, n) in need.iter_mut().enumerate() {
            let have = self.free_count(k) + self.outstanding.get(k).copied().unwrap_or(0);
            *n = waiting.get(k).copied().unwrap_or(0).saturating_sub(have);
        }
        if need == [0, 0] && (self.reoffer_asked || !changed) {
            return None;
        }
        for (o, n) in self.outstanding.iter_mut().zip(need) {
            *o += n;
        }
        self.reoffer_asked = true;
        Some(proto::MediaSectionsRequirement {
            num_audios: need[0],
            num_videos: need[1],
        })
    }
}

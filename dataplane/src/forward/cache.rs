//! The last packets of a video source, kept in plaintext so a subscriber's
//! NACK is answered without asking the publisher. Fixed size, allocated once
//! when the source gets its first local down-track, never per packet.

/// Largest RTP packet we keep (a full Ethernet MTU of payload).
pub const MAX_PACKET: usize = 1500;
/// Packets kept per source: about 1.5 s of 720p video at 2.5 Mbit/s, more
/// than a NACK round trip on any path worth repairing.
pub const CACHE_SLOTS: usize = 512;
/// Times one packet is resent to one subscriber at most (a subscriber
/// NACKing the same packet again and again gets nothing more); counted per
/// down-track, so subscribers behind one lossy link each get theirs.
pub const MAX_RESENDS: u8 = 3;

#[derive(Clone, Copy)]
struct Slot {
    seq: u16,
    len: u16,
    valid: bool,
    data: [u8; MAX_PACKET],
}

/// A ring of the last [`CACHE_SLOTS`] packets by sequence number.
pub struct PacketCache {
    slots: Box<[Slot]>,
}

impl Default for PacketCache {
    fn default() -> Self {
        Self::new()
    }
}

impl PacketCache {
    pub fn new() -> Self {
        let empty = Slot {
            seq: 0,
            len: 0,
            valid: false,
            data: [0; MAX_PACKET],
        };
        Self {
            slots: vec![empty; CACHE_SLOTS].into_boxed_slice(),
        }
    }

    /// Keeps `pkt` under `seq` (too-large packets are not kept).
    pub fn insert(&mut self, seq: u16, pkt: &[u8]) {
        if pkt.len() > MAX_PACKET {
            return;
        }
        let s = &mut self.slots[usize::from(seq) % CACHE_SLOTS];
        s.seq = seq;
        s.len = pkt.len() as u16;
        s.valid = true;
        s.data[..pkt.len()].copy_from_slice(pkt);
    }

    /// The packet `seq` if still kept.
    pub fn get(&self, seq: u16) -> Option<&[u8]> {
        let s = &self.slots[usize::from(seq) % CACHE_SLOTS];
        if !s.valid || s.seq != seq {
            return None;
        }
        s.data.get(..usize::from(s.len))
    }
}

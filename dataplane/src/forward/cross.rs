//! What workers hand each other through their SPSC rings: one plaintext
//! copy of a packet whose subscribers live on the other worker, a keyframe
//! request for a publisher that lives there, and — because a client may
//! move to another 5-tuple that the kernel hashes to another worker — the
//! claim of a transport by the worker that runs its DTLS, and raw datagrams
//! redirected to that worker.

use std::net::SocketAddr;

use ringcast_shared::records::{TransportId, WireAddr};

use super::cache::MAX_PACKET;

/// Slots per worker-to-worker ring: ~40 ms of a 50k packets/s burst.
pub const CROSS_RING_SLOTS: usize = 2048;

/// The kind of a [`CrossPacket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CrossKind {
    /// `data[..len]` is a decrypted RTP packet from `source`.
    Rtp = 0,
    /// The other side wants a keyframe of `source`'s `ssrc`.
    KeyframeRequest = 1,
    /// `data[..len]` is a datagram from `addr` that belongs to a transport
    /// this worker owns.
    Datagram = 2,
    /// Worker `ssrc` owns transport `source` and bound `addr` to it:
    /// datagrams from `addr` go there.
    Claim = 3,
    /// `data[..len]` is a decrypted RTCP compound packet from publisher
    /// `source` (its sender reports, translated for each down-track).
    Rtcp = 4,
}

/// One fixed-size ring record (no pointers: copied into the slot).
#[derive(Clone, Copy)]
#[repr(C)]
pub struct CrossPacket {
    pub kind: CrossKind,
    pub source: TransportId,
    pub ssrc: u32,
    pub addr: WireAddr,
    pub len: u16,
    pub data: [u8; MAX_PACKET],
}

impl CrossPacket {
    pub fn rtp(source: TransportId, pkt: &[u8]) -> Option<Self> {
        if pkt.len() > MAX_PACKET {
            return None;
        }
        let mut c = Self::keyframe_request(source, 0);
        c.kind = CrossKind::Rtp;
        c.len = pkt.len() as u16;
        c.data[..pkt.len()].copy_from_slice(pkt);
        Some(c)
    }

    pub fn keyframe_request(source: TransportId, ssrc: u32) -> Self {
        Self {
            kind: CrossKind::KeyframeRequest,
            source,
            ssrc,
            addr: WireAddr {
                family: 4,
                port: 0,
                ip: [0; 16],
            },
            len: 0,
            data: [0; MAX_PACKET],
        }
    }

    pub fn datagram(from: SocketAddr, pkt: &[u8]) -> Option<Self> {
        let mut c = Self::rtp(TransportId(0), pkt)?;
        c.kind = CrossKind::Datagram;
        c.addr = WireAddr::from(from);
        Some(c)
    }

    pub fn claim(id: TransportId, owner: u16, addr: SocketAddr) -> Self {
        let mut c = Self::keyframe_request(id, u32::from(owner));
        c.kind = CrossKind::Claim;
        c.addr = WireAddr::from(addr);
        c
    }

    pub fn payload(&self) -> &[u8] {
        self.data.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

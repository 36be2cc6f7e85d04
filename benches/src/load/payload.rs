//! What a publisher puts in each RTP payload so subscribers can measure:
//! a sequence number, the send time and the publisher's index, then filler
//! up to an Opus-sized packet.
//!
//! The send time is `CLOCK_MONOTONIC` in nanoseconds; publisher and
//! subscribers run on the same host, so one-way latency is a subtraction.

use ringcast_dataplane::rtp::RtpHeader;

/// Bytes of the stamp at the start of the payload.
pub const STAMP_LEN: usize = 16;
/// RTP fixed header, no CSRCs, no extensions.
pub const RTP_HEADER_LEN: usize = 12;
/// Opus at 48 kHz advances the RTP clock by 960 per 20 ms frame.
pub const OPUS_TICKS_PER_FRAME: u32 = 960;

/// The measurement stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Counts every packet the publisher sent, from 0.
    pub seq: u32,
    /// `CLOCK_MONOTONIC` at send, nanoseconds.
    pub sent_ns: u64,
    /// The publisher's global index (room-major).
    pub publisher: u32,
}

impl Stamp {
    /// Writes the stamp at the start of `out` (big-endian `seq`, `sent_ns`,
    /// `publisher`). `out` must hold [`STAMP_LEN`] bytes.
    pub fn write(&self, out: &mut [u8]) -> Option<()> {
        let out = out.get_mut(..STAMP_LEN)?;
        out[0..4].copy_from_slice(&self.seq.to_be_bytes());
        out[4..12].copy_from_slice(&self.sent_ns.to_be_bytes());
        out[12..16].copy_from_slice(&self.publisher.to_be_bytes());
        Some(())
    }

    /// Reads a stamp from the start of an RTP payload.
    #[must_use]
    pub fn read(payload: &[u8]) -> Option<Stamp> {
        let p = payload.get(..STAMP_LEN)?;
        Some(Stamp {
            seq: u32::from_be_bytes(p[0..4].try_into().ok()?),
            sent_ns: u64::from_be_bytes(p[4..12].try_into().ok()?),
            publisher: u32::from_be_bytes(p[12..16].try_into().ok()?),
        })
    }
}

/// `CLOCK_MONOTONIC` now, in nanoseconds.
#[must_use]
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// Writes a plain RTP packet (version 2, marker clear) with `stamp` at the
/// start of a `payload_len`-byte payload (filler after it). Returns the
/// packet length, or `None` if `out` is too small or `payload_len` cannot
/// hold the stamp.
pub fn write_rtp(
    out: &mut [u8],
    payload_type: u8,
    rtp_seq: u16,
    rtp_ts: u32,
    ssrc: u32,
    stamp: &Stamp,
    payload_len: usize,
) -> Option<usize> {
    if payload_len < STAMP_LEN {
        return None;
    }
    let len = RTP_HEADER_LEN + payload_len;
    let pkt = out.get_mut(..len)?;
    pkt[0] = 0x80;
    pkt[1] = 0;
    RtpHeader::write_ids(pkt, payload_type, rtp_seq, rtp_ts, ssrc);
    stamp.write(&mut pkt[RTP_HEADER_LEN..])?;
    // Filler that is not all zeros, like a real Opus frame.
    for (i, b) in pkt[RTP_HEADER_LEN + STAMP_LEN..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31) ^ 0x5a;
    }
    Some(len)
}

/// The stamp in an (unprotected) RTP packet, wherever the server put the
/// payload (it may add header extensions or CSRCs).
#[must_use]
pub fn stamp_of_rtp(pkt: &[u8]) -> Option<Stamp> {
    let h = RtpHeader::parse(pkt).ok()?;
    Stamp::read(h.payload(pkt))
}

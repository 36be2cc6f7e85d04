use super::{PT_PSFB, PT_RTPFB, PT_SR};

/// Why a compound RTCP packet was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    #[error("RTCP packet shorter than its length field says")]
    Truncated,
    #[error("RTCP version is not 2")]
    BadVersion,
}

/// One piece of feedback found in a compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    /// Picture loss indication (PSFB FMT 1) for `media_ssrc`.
    Pli { media_ssrc: u32 },
    /// Full intra request (PSFB FMT 4) for `media_ssrc`.
    Fir { media_ssrc: u32 },
    /// Generic NACK (RTPFB FMT 1): `pid` and the 16 following packets
    /// flagged in `blp` are lost.
    Nack { media_ssrc: u32, pid: u16, blp: u16 },
    /// A sender report: the NTP/RTP time pair of `ssrc`.
    SenderReport {
        ssrc: u32,
        ntp: u64,
        rtp_time: u32,
        packets: u32,
        octets: u32,
    },
}

/// Walks every packet of the compound `buf` (after SRTCP) and calls `f` for
/// each feedback item we act on. Other packet types are skipped.
pub fn for_each_feedback(buf: &[u8], mut f: impl FnMut(Feedback)) -> Result<(), RtcpError> {
    let mut at = 0;
    while at + 4 <= buf.len() {
        let b0 = buf[at];
        if b0 >> 6 != 2 {
            return Err(RtcpError::BadVersion);
        }
        let fmt = b0 & 0x1f;
        let pt = buf[at + 1];
        let words = usize::from(u16::from_be_bytes([buf[at + 2], buf[at + 3]]));
        let end = at + 4 + 4 * words;
        let pkt = buf.get(at..end).ok_or(RtcpError::Truncated)?;
        match (pt, fmt) {
            (PT_SR, _) if pkt.len() >= 28 => f(Feedback::SenderReport {
                ssrc: be32(pkt, 4),
                ntp: (u64::from(be32(pkt, 8)) << 32) | u64::from(be32(pkt, 12)),
                rtp_time: be32(pkt, 16),
                packets: be32(pkt, 20),
                octets: be32(pkt, 24),
            }),
            (PT_PSFB, 1) if pkt.len() >= 12 => f(Feedback::Pli {
                media_ssrc: be32(pkt, 8),
            }),
            (PT_PSFB, 4) if pkt.len() >= 12 => {
                // FCI entries: SSRC(4) seq(1) reserved(3).
                let mut i = 12;
                while i + 8 <= pkt.len() {
                    f(Feedback::Fir {
                        media_ssrc: be32(pkt, i),
                    });
                    i += 8;
                }
            }
            (PT_RTPFB, 1) if pkt.len() >= 12 => {
                let media_ssrc = be32(pkt, 8);
                let mut i = 12;
                while i + 4 <= pkt.len() {
                    f(Feedback::Nack {
                        media_ssrc,
                        pid: u16::from_be_bytes([pkt[i], pkt[i + 1]]),
                        blp: u16::from_be_bytes([pkt[i + 2], pkt[i + 3]]),
                    });
                    i += 4;
                }
            }
            _ => {}
        }
        at = end;
    }
    Ok(())
}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

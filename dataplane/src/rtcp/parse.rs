use super::{PT_PSFB, PT_RR, PT_RTPFB, PT_SR};

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
    /// A reception report block (in an SR or RR) about our stream `ssrc`:
    /// `fraction_lost` in 1/256 since the peer's previous report, `jitter`
    /// in the stream's RTP clock units.
    ReceptionReport {
        ssrc: u32,
        fraction_lost: u8,
        jitter: u32,
    },
}

/// Bytes of one reception report block (RFC 3550 6.4.1).
const REPORT_BLOCK_LEN: usize = 24;

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
            (PT_SR, _) if pkt.len() >= 28 => {
                f(Feedback::SenderReport {
                    ssrc: be32(pkt, 4),
                    ntp: (u64::from(be32(pkt, 8)) << 32) | u64::from(be32(pkt, 12)),
                    rtp_time: be32(pkt, 16),
                    packets: be32(pkt, 20),
                    octets: be32(pkt, 24),
                });
                report_blocks(pkt, 28, fmt, &mut f);
            }
            (PT_RR, _) => report_blocks(pkt, 8, fmt, &mut f),
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

/// The `count` report blocks of an SR or RR starting at `first`; a count
/// larger than the packet holds stops at the last whole block.
fn report_blocks(pkt: &[u8], first: usize, count: u8, f: &mut impl FnMut(Feedback)) {
    for i in 0..usize::from(count) {
        let at = first + i * REPORT_BLOCK_LEN;
        let Some(b) = pkt.get(at..at + REPORT_BLOCK_LEN) else {
            return;
        };
        f(Feedback::ReceptionReport {
            ssrc: be32(b, 0),
            fraction_lost: b[4],
            jitter: be32(b, 12),
        });
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(blocks: &[(u32, u8, u32)]) -> Vec<u8> {
        let mut v = vec![0x80 | blocks.len() as u8, PT_RR, 0, 0];
        v.extend_from_slice(&1234u32.to_be_bytes());
        for &(ssrc, lost, jitter) in blocks {
            v.extend_from_slice(&ssrc.to_be_bytes());
            v.extend_from_slice(&[lost, 0, 0, 3]);
            v.extend_from_slice(&100u32.to_be_bytes());
            v.extend_from_slice(&jitter.to_be_bytes());
            v.extend_from_slice(&[0; 8]);
        }
        let words = (v.len() / 4 - 1) as u16;
        v[2..4].copy_from_slice(&words.to_be_bytes());
        v
    }

    fn blocks(pkt: &[u8]) -> Vec<(u32, u8, u32)> {
        let mut seen = Vec::new();
        let _ = for_each_feedback(pkt, |fb| {
            if let Feedback::ReceptionReport {
                ssrc,
                fraction_lost,
                jitter,
            } = fb
            {
                seen.push((ssrc, fraction_lost, jitter));
            }
        });
        seen
    }

    #[test]
    fn reads_every_report_block_of_a_compound_packet() {
        let mut pkt = rr(&[(5, 26, 480)]);
        // A PLI between, then a second RR with two blocks.
        pkt.extend_from_slice(&[0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 5]);
        pkt.extend(rr(&[(6, 0, 9000), (7, 255, 1)]));
        assert_eq!(blocks(&pkt), vec![(5, 26, 480), (6, 0, 9000), (7, 255, 1)]);
    }

    #[test]
    fn a_sender_report_gives_its_time_and_its_report_blocks() {
        let mut sr = vec![0x81, PT_SR, 0, 12];
        sr.extend_from_slice(&77u32.to_be_bytes());
        sr.extend_from_slice(&[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
        sr.extend_from_slice(&[0; 12]);
        sr.extend_from_slice(&rr(&[(9, 13, 70)])[8..]);
        let mut pkt = rr(&[(5, 1, 1)]);
        pkt.extend(sr);
        let mut srs = Vec::new();
        for_each_feedback(&pkt, |fb| {
            if let Feedback::SenderReport { ssrc, ntp, .. } = fb {
                srs.push((ssrc, ntp));
            }
        })
        .unwrap();
        assert_eq!(srs, vec![(77, 0x1122_3344_5566_7788)]);
        assert_eq!(blocks(&pkt), vec![(5, 1, 1), (9, 13, 70)]);
    }

    #[test]
    fn a_truncated_packet_yields_what_is_whole_and_never_panics() {
        let pkt = rr(&[(5, 26, 480), (6, 1, 2)]);
        for cut in 0..pkt.len() {
            assert_eq!(
                blocks(&pkt[..cut]),
                vec![],
                "a packet shorter than its length field is skipped"
            );
        }
        // A count larger than the blocks present stops at the last whole one.
        let mut lying = rr(&[(5, 26, 480)]);
        lying[0] = 0x80 | 3;
        assert_eq!(blocks(&lying).len(), 1);
    }
}

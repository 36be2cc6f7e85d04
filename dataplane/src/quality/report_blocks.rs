//! Reception report blocks (RFC 3550 6.4) in sender and receiver reports.
//! `rtcp::for_each_feedback` covers the packets that ask for something
//! (PLI, FIR, NACK, SR timing); these blocks only feed link quality, so
//! they are read here, where they are used.

const PT_SR: u8 = 200;
const PT_RR: u8 = 201;
const BLOCK_LEN: usize = 24;

/// What a peer says about one of our streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Fraction lost since its previous report, in 1/256.
    pub fraction_lost: u8,
    /// Interarrival jitter in the stream's RTP clock units.
    pub jitter: u32,
}

/// Calls `f` for each report block of every SR and RR in the compound
/// packet `buf`. Stops quietly at anything malformed: the worker counts
/// malformed RTCP where it parses feedback.
pub fn for_each_report_block(buf: &[u8], mut f: impl FnMut(ReportBlock)) {
    let mut rest = buf;
    while rest.len() >= 8 {
        let count = usize::from(rest[0] & 0x1f);
        let pt = rest[1];
        let words = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let len = (words + 1) * 4;
        let Some(pkt) = rest.get(..len) else { return };
        rest = &rest[len..];
        let first = match pt {
            PT_SR => 28,
            PT_RR => 8,
            _ => continue,
        };
        for i in 0..count {
            let at = first + i * BLOCK_LEN;
            let Some(b) = pkt.get(at..at + BLOCK_LEN) else {
                break;
            };
            f(ReportBlock {
                ssrc: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                fraction_lost: b[4],
                jitter: u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
            });
        }
    }
}

/// Calls `f(ssrc, ntp_middle)` for each sender report in the compound
/// packet `buf`: the middle 32 bits of its NTP timestamp are what a
/// receiver report echoes as LSR.
pub fn for_each_sender_report(buf: &[u8], mut f: impl FnMut(u32, u32)) {
    let mut rest = buf;
    while rest.len() >= 8 {
        let pt = rest[1];
        let words = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let len = (words + 1) * 4;
        let Some(pkt) = rest.get(..len) else { return };
        rest = &rest[len..];
        if pt != PT_SR {
            continue;
        }
        if let Some(b) = pkt.get(4..16) {
            let ssrc = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            let middle = u32::from_be_bytes([b[6], b[7], b[8], b[9]]);
            f(ssrc, middle);
        }
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

    #[test]
    fn reads_every_block_of_a_compound_packet() {
        let mut pkt = rr(&[(5, 26, 480)]);
        // A PLI between, then a second RR with two blocks.
        pkt.extend_from_slice(&[0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 5]);
        pkt.extend(rr(&[(6, 0, 9000), (7, 255, 1)]));
        let mut seen = Vec::new();
        for_each_report_block(&pkt, |b| seen.push((b.ssrc, b.fraction_lost, b.jitter)));
        assert_eq!(seen, vec![(5, 26, 480), (6, 0, 9000), (7, 255, 1)]);
    }

    #[test]
    fn sender_reports_give_their_ssrc_and_ntp_middle() {
        let mut sr = vec![0x80, PT_SR, 0, 6];
        sr.extend_from_slice(&77u32.to_be_bytes());
        sr.extend_from_slice(&[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
        sr.extend_from_slice(&[0; 12]);
        let mut pkt = rr(&[(5, 1, 1)]);
        pkt.extend(sr);
        let mut seen = Vec::new();
        for_each_sender_report(&pkt, |ssrc, mid| seen.push((ssrc, mid)));
        assert_eq!(seen, vec![(77, 0x3344_5566)]);
    }

    #[test]
    fn a_truncated_packet_yields_what_is_whole_and_never_panics() {
        let pkt = rr(&[(5, 26, 480), (6, 1, 2)]);
        for cut in 0..pkt.len() {
            let mut n = 0;
            for_each_report_block(&pkt[..cut], |_| n += 1);
            assert_eq!(n, 0, "a packet shorter than its length field is skipped");
        }
        // A count larger than the blocks present stops at the last whole one.
        let mut lying = rr(&[(5, 26, 480)]);
        lying[0] = 0x80 | 3;
        let mut n = 0;
        for_each_report_block(&lying, |_| n += 1);
        assert_eq!(n, 1);
    }
}

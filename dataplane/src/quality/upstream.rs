//! Loss of one incoming RTP stream, counted the RFC 3550 (A.3) way: packets
//! expected from the extended highest sequence number, minus packets
//! received, per window; and the receiver-report block we send the
//! publisher about it (loss, highest sequence number, LSR/DLSR so it can
//! measure the round trip).

use std::time::Instant;

use crate::rtcp::ReportBlock;

/// Sequence numbers further ahead than this are a restart of the stream,
/// not loss (RFC 3550's MAX_DROPOUT).
const MAX_DROPOUT: u16 = 3000;

#[derive(Debug, Clone, Copy)]
pub struct UpstreamStream {
    ssrc: u32,
    /// Extended highest sequence number seen.
    highest: u64,
    /// `highest` when the current window began (first packet - 1 at start).
    window_base: u64,
    /// Packets received this window (duplicates and late ones included).
    received: u32,
    /// Extended sequence number of the first packet, and packets received
    /// since then, for the cumulative loss of receiver reports.
    base: u64,
    total_received: u64,
    /// Middle 32 bits of the NTP time of the publisher's last sender report
    /// for this SSRC, and when it arrived.
    last_sr: Option<(u32, Instant)>,
}

impl UpstreamStream {
    pub fn new(ssrc: u32, first: u16) -> Self {
        let highest = u64::from(first) + (1 << 16);
        Self {
            ssrc,
            highest,
            window_base: highest - 1,
            received: 1,
            base: highest,
            total_received: 1,
            last_sr: None,
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    pub fn on_packet(&mut self, sequence: u16) {
        self.received = self.received.saturating_add(1);
        self.total_received += 1;
        let last = self.highest as u16;
        let ahead = sequence.wrapping_sub(last);
        if ahead == 0 || ahead >= 0x8000 {
            return; // duplicate or late (a retransmission fills a gap)
        }
        if ahead > MAX_DROPOUT {
            // A restart: begin the window again from here.
            self.highest += u64::from(ahead);
            self.window_base = self.highest - 1;
            self.received = 1;
            self.base = self.highest;
            self.total_received = 1;
            return;
        }
        self.highest += u64::from(ahead);
    }

    /// The publisher's sender report for this SSRC arrived at `now`.
    pub fn on_sender_report(&mut self, ntp_middle: u32, now: Instant) {
        self.last_sr = Some((ntp_middle, now));
    }

    /// The report block for a window that expected `expected` packets and
    /// lost `lost` of them (from [`Self::take_window`]).
    pub fn report_block(&self, now: Instant, expected: u32, lost: u32) -> ReportBlock {
        let fraction_lost = if expected == 0 {
            0
        } else {
            (u64::from(lost) * 256 / u64::from(expected)).min(255) as u8
        };
        let total_expected = self.highest + 1 - self.base;
        let cumulative_lost = total_expected.saturating_sub(self.total_received);
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((ntp, at)) => {
                let d = now.saturating_duration_since(at);
                // In units of 1/65536 s (RFC 3550 6.4.1).
                let dlsr = (d.as_micros() * 65_536 / 1_000_000).min(u128::from(u32::MAX)) as u32;
                (ntp, dlsr)
            }
            None => (0, 0),
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: cumulative_lost.min(0x7f_ffff) as u32,
            highest_seq: (self.highest - (1 << 16)) as u32,
            // Interarrival jitter needs the stream's clock rate, which the
            // worker does not keep per SSRC; reported as 0.
            jitter: 0,
            last_sr,
            delay_since_last_sr,
        }
    }

    /// Packets expected and lost since the last call; starts a new window.
    pub fn take_window(&mut self) -> (u32, u32) {
        let expected = (self.highest - self.window_base).min(u64::from(u32::MAX)) as u32;
        let lost = expected.saturating_sub(self.received);
        self.window_base = self.highest;
        self.received = 0;
        (expected, lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_gaps_as_lost_and_late_packets_as_received() {
        let mut s = UpstreamStream::new(7, 65530);
        for seq in [65531u16, 65533, 0, 1, 3] {
            s.on_packet(seq);
        }
        // 65530..=3 is 10 packets; 65532, 65534, 65535, 2 missing.
        assert_eq!(s.take_window(), (10, 4));
        s.on_packet(2); // a retransmission, late
        s.on_packet(4);
        assert_eq!(s.take_window(), (1, 0));
        assert_eq!(s.take_window(), (0, 0));
    }

    #[test]
    fn report_blocks_carry_loss_sequence_and_the_sender_report_echo() {
        let t0 = Instant::now();
        let mut s = UpstreamStream::new(9, 65534);
        for seq in [65535u16, 1, 2] {
            s.on_packet(seq);
        }
        s.on_sender_report(0xAABB_CCDD, t0);
        let (e, l) = s.take_window();
        assert_eq!((e, l), (5, 1));
        let b = s.report_block(t0 + std::time::Duration::from_millis(500), e, l);
        assert_eq!(b.ssrc, 9);
        assert_eq!(b.fraction_lost, 51); // 1/5 of 256
        assert_eq!(b.cumulative_lost, 1);
        assert_eq!(
            b.highest_seq,
            (1 << 16) | 2,
            "one wrap: cycles in the high half"
        );
        assert_eq!(b.last_sr, 0xAABB_CCDD);
        assert_eq!(b.delay_since_last_sr, 32_768, "half a second in 1/65536 s");
        // The gap filled late: cumulative loss goes back to 0.
        s.on_packet(0);
        let (e, l) = s.take_window();
        assert_eq!(s.report_block(t0, e, l).cumulative_lost, 0);
    }

    #[test]
    fn a_big_jump_restarts_instead_of_counting_thousands_lost() {
        let mut s = UpstreamStream::new(7, 100);
        s.on_packet(20000);
        s.on_packet(20001);
        assert_eq!(s.take_window(), (2, 0));
    }
}

//! Loss of one incoming RTP stream, counted the RFC 3550 (A.3) way: packets
//! expected from the extended highest sequence number, minus packets
//! received, per window.

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
}

impl UpstreamStream {
    pub fn new(ssrc: u32, first: u16) -> Self {
        let highest = u64::from(first) + (1 << 16);
        Self {
            ssrc,
            highest,
            window_base: highest - 1,
            received: 1,
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    pub fn on_packet(&mut self, sequence: u16) {
        self.received = self.received.saturating_add(1);
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
            return;
        }
        self.highest += u64::from(ahead);
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
    fn a_big_jump_restarts_instead_of_counting_thousands_lost() {
        let mut s = UpstreamStream::new(7, 100);
        s.on_packet(20000);
        s.on_packet(20001);
        assert_eq!(s.take_window(), (2, 0));
    }
}

//! First-byte demultiplexing of the one UDP port every protocol shares.
//!
//! RFC 7983 section 7 splits the first byte into ranges: STUN 0-3, ZRTP
//! 16-19, DTLS 20-63, TURN channels 64-79, RTP/RTCP 128-191. RTP and RTCP
//! share a range and are told apart by the second byte (RFC 5761 section 4):
//! RTCP packet types 192-223 sit where an RTP marker bit plus payload type
//! 64-95 would be, which is why those payload types are never used for RTP.
//!
//! Classification only looks at bytes; it copies nothing and accepts any
//! input, including an empty slice. The protocol parsers that run next do
//! the real length and format checks.

/// What a datagram on the shared media port is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// STUN (ICE connectivity checks and consent), first byte 0-3.
    Stun,
    /// DTLS record, first byte 20-63.
    Dtls,
    /// RTP (SRTP) media, first byte 128-191 and second byte outside 192-223.
    Rtp,
    /// RTCP (SRTCP), first byte 128-191 and second byte 192-223.
    Rtcp,
    /// Anything else (ZRTP, TURN channel data, garbage, empty): dropped.
    Unknown,
}

impl PacketKind {
    /// Classifies `pkt` by RFC 7983 / RFC 5761. Total: never panics.
    #[inline]
    #[must_use]
    pub fn of(pkt: &[u8]) -> PacketKind {
        match pkt {
            [0..=3, ..] => PacketKind::Stun,
            [20..=63, ..] => PacketKind::Dtls,
            // An RTP/RTCP first byte with no second byte cannot be told apart
            // and is too short to be either.
            [128..=191, 192..=223, ..] => PacketKind::Rtcp,
            [128..=191, _, ..] => PacketKind::Rtp,
            _ => PacketKind::Unknown,
        }
    }
}

/// Shorthand for [`PacketKind::of`].
#[inline]
#[must_use]
pub fn classify(pkt: &[u8]) -> PacketKind {
    PacketKind::of(pkt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_first_byte_lands_in_its_rfc7983_range() {
        for b0 in 0..=255u8 {
            let kind = PacketKind::of(&[b0, 0x00]);
            let want = match b0 {
                0..=3 => PacketKind::Stun,
                20..=63 => PacketKind::Dtls,
                128..=191 => PacketKind::Rtp,
                _ => PacketKind::Unknown,
            };
            assert_eq!(kind, want, "first byte {b0}");
        }
    }

    #[test]
    fn rtcp_is_told_from_rtp_by_the_second_byte() {
        for b1 in 0..=255u8 {
            let kind = PacketKind::of(&[0x80, b1]);
            if (192..=223).contains(&b1) {
                assert_eq!(kind, PacketKind::Rtcp, "second byte {b1}");
            } else {
                assert_eq!(kind, PacketKind::Rtp, "second byte {b1}");
            }
        }
        // Sender report (200) and receiver report (201).
        assert_eq!(PacketKind::of(&[0x80, 200, 0, 6]), PacketKind::Rtcp);
        assert_eq!(PacketKind::of(&[0x81, 201, 0, 7]), PacketKind::Rtcp);
        // VP8 (96) with and without marker bit.
        assert_eq!(PacketKind::of(&[0x90, 96]), PacketKind::Rtp);
        assert_eq!(PacketKind::of(&[0x90, 96 | 0x80]), PacketKind::Rtp);
    }

    #[test]
    fn empty_and_one_byte_inputs_are_handled() {
        assert_eq!(PacketKind::of(&[]), PacketKind::Unknown);
        assert_eq!(PacketKind::of(&[0x00]), PacketKind::Stun);
        assert_eq!(PacketKind::of(&[22]), PacketKind::Dtls);
        assert_eq!(PacketKind::of(&[0x80]), PacketKind::Unknown);
    }
}

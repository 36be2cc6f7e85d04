/// Why bytes are not an RTP packet we can forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("shorter than its header")]
    Truncated,
    #[error("RTP version is not 2")]
    BadVersion,
    #[error("padding longer than the payload")]
    BadPadding,
}

/// The fixed header fields and where the variable parts are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Bytes before the payload: fixed header, CSRCs and extension block.
    pub header_len: usize,
    /// The extension block's profile (0xBEDE one-byte, 0x100x two-byte) and
    /// the byte range of its elements, if the X bit is set.
    pub extension: Option<(u16, usize, usize)>,
    /// Padding bytes at the end (P bit), already checked against the length.
    pub padding: usize,
}

impl RtpHeader {
    /// Parses the header of `pkt` (the whole datagram, after SRTP).
    pub fn parse(pkt: &[u8]) -> Result<Self, RtpError> {
        if pkt.len() < 12 {
            return Err(RtpError::Truncated);
        }
        if pkt[0] >> 6 != 2 {
            return Err(RtpError::BadVersion);
        }
        let cc = usize::from(pkt[0] & 0x0f);
        let mut header_len = 12 + 4 * cc;
        if pkt.len() < header_len {
            return Err(RtpError::Truncated);
        }
        let mut extension = None;
        if pkt[0] & 0x10 != 0 {
            let at = header_len;
            let head = pkt.get(at..at + 4).ok_or(RtpError::Truncated)?;
            let profile = u16::from_be_bytes([head[0], head[1]]);
            let words = usize::from(u16::from_be_bytes([head[2], head[3]]));
            let start = at + 4;
            let end = start + 4 * words;
            if pkt.len() < end {
                return Err(RtpError::Truncated);
            }
            extension = Some((profile, start, end));
            header_len = end;
        }
        let padding = if pkt[0] & 0x20 != 0 {
            let p = usize::from(pkt[pkt.len() - 1]);
            if p == 0 || header_len + p > pkt.len() {
                return Err(RtpError::BadPadding);
            }
            p
        } else {
            0
        };
        Ok(RtpHeader {
            marker: pkt[1] & 0x80 != 0,
            payload_type: pkt[1] & 0x7f,
            sequence: u16::from_be_bytes([pkt[2], pkt[3]]),
            timestamp: u32::from_be_bytes([pkt[4], pkt[5], pkt[6], pkt[7]]),
            ssrc: u32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]]),
            header_len,
            extension,
            padding,
        })
    }

    /// The payload of `pkt`, without padding.
    pub fn payload<'a>(&self, pkt: &'a [u8]) -> &'a [u8] {
        pkt.get(self.header_len..pkt.len().saturating_sub(self.padding))
            .unwrap_or(&[])
    }

    /// Overwrites the fields a down-track changes. `pkt` must be the packet
    /// this header was parsed from (at least 12 bytes).
    pub fn write_ids(pkt: &mut [u8], payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32) {
        if pkt.len() < 12 {
            return;
        }
        pkt[1] = (pkt[1] & 0x80) | (payload_type & 0x7f);
        pkt[2..4].copy_from_slice(&sequence.to_be_bytes());
        pkt[4..8].copy_from_slice(&timestamp.to_be_bytes());
        pkt[8..12].copy_from_slice(&ssrc.to_be_bytes());
    }
}

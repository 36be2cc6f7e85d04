//! The Data Channel Establishment Protocol (RFC 8832): the OPEN message that
//! names a channel and its reliability, and the one-byte ACK.

/// DATA_CHANNEL_OPEN message type.
pub const MSG_OPEN: u8 = 0x03;
/// DATA_CHANNEL_ACK message type.
pub const MSG_ACK: u8 = 0x02;

/// How a channel delivers (RFC 8832 §5.1 channel types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliability {
    /// Retransmit until delivered.
    Reliable,
    /// At most this many retransmissions.
    MaxRetransmits(u32),
    /// Give up after this many milliseconds.
    MaxLifetimeMs(u32),
}

/// A parsed DATA_CHANNEL_OPEN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenMessage {
    pub ordered: bool,
    pub reliability: Reliability,
    pub priority: u16,
    pub label: String,
    pub protocol: String,
}

/// A DCEP message we could not read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DcepError {
    #[error("DCEP message too short")]
    Truncated,
    #[error("unknown DCEP message type {0}")]
    UnknownType(u8),
    #[error("unknown DCEP channel type {0:#x}")]
    UnknownChannelType(u8),
}

/// A DCEP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcepMessage {
    Open(OpenMessage),
    Ack,
}

impl DcepMessage {
    pub fn parse(b: &[u8]) -> Result<Self, DcepError> {
        match b.first() {
            None => Err(DcepError::Truncated),
            Some(&MSG_ACK) => Ok(DcepMessage::Ack),
            Some(&MSG_OPEN) => OpenMessage::parse(b).map(DcepMessage::Open),
            Some(&t) => Err(DcepError::UnknownType(t)),
        }
    }
}

impl OpenMessage {
    /// Layout: type(1) channel_type(1) priority(2) reliability(4)
    /// label_len(2) protocol_len(2) label protocol.
    pub fn parse(b: &[u8]) -> Result<Self, DcepError> {
        if b.len() < 12 {
            return Err(DcepError::Truncated);
        }
        let channel_type = b[1];
        let priority = u16::from_be_bytes([b[2], b[3]]);
        let param = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        let label_len = u16::from_be_bytes([b[8], b[9]]) as usize;
        let proto_len = u16::from_be_bytes([b[10], b[11]]) as usize;
        let label = b.get(12..12 + label_len).ok_or(DcepError::Truncated)?;
        let protocol = b
            .get(12 + label_len..12 + label_len + proto_len)
            .ok_or(DcepError::Truncated)?;
        let ordered = channel_type & 0x80 == 0;
        let reliability = match channel_type & 0x7f {
            0x00 => Reliability::Reliable,
            0x01 => Reliability::MaxRetransmits(param),
            0x02 => Reliability::MaxLifetimeMs(param),
            _ => return Err(DcepError::UnknownChannelType(channel_type)),
        };
        Ok(OpenMessage {
            ordered,
            reliability,
            priority,
            label: String::from_utf8_lossy(label).into_owned(),
            protocol: String::from_utf8_lossy(protocol).into_owned(),
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let (kind, param) = match self.reliability {
            Reliability::Reliable => (0x00, 0),
            Reliability::MaxRetransmits(n) => (0x01, n),
            Reliability::MaxLifetimeMs(ms) => (0x02, ms),
        };
        let channel_type = if self.ordered { kind } else { kind | 0x80 };
        let label = &self.label.as_bytes()[..self.label.len().min(u16::MAX as usize)];
        let protocol = &self.protocol.as_bytes()[..self.protocol.len().min(u16::MAX as usize)];
        let mut out = Vec::with_capacity(12 + label.len() + protocol.len());
        out.push(MSG_OPEN);
        out.push(channel_type);
        out.extend_from_slice(&self.priority.to_be_bytes());
        out.extend_from_slice(&param.to_be_bytes());
        out.extend_from_slice(&(label.len() as u16).to_be_bytes());
        out.extend_from_slice(&(protocol.len() as u16).to_be_bytes());
        out.extend_from_slice(label);
        out.extend_from_slice(protocol);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_round_trips_and_truncations_error() {
        let m = OpenMessage {
            ordered: false,
            reliability: Reliability::MaxRetransmits(0),
            priority: 256,
            label: "_lossy".into(),
            protocol: String::new(),
        };
        let b = m.encode();
        assert_eq!(b[1], 0x81);
        assert_eq!(DcepMessage::parse(&b), Ok(DcepMessage::Open(m)));
        for n in 0..b.len() {
            assert!(DcepMessage::parse(&b[..n]).is_err() || n == 0 && b.is_empty());
        }
        assert_eq!(DcepMessage::parse(&[MSG_ACK]), Ok(DcepMessage::Ack));
        assert_eq!(DcepMessage::parse(&[9]), Err(DcepError::UnknownType(9)));
    }
}

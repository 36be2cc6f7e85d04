//! The LiveKit data channels on top of one SCTP association: which of our
//! channels carries a message of a given kind, and sending on it with the
//! bounds the worker needs (LIVEKIT_PROTOCOL.md §5.1-5.3).
//!
//! Downstream messages are always binary (PPID 53): the Rust SDK errors on
//! text messages (§5.2, §11.15).

use ringcast_shared::data_ring::{ChannelKind, DATA_MAX_PAYLOAD};

use super::{SctpError, SctpTransport};

/// Bytes queued on one stream beyond which further messages are refused, so
/// a receiver that stops reading cannot grow the worker's memory without
/// bound. A few dozen maximum-size messages.
pub const MAX_BUFFERED_PER_CHANNEL: usize = 4 * 1024 * 1024;

/// Why a data message could not be queued on a channel.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DataSendError {
    /// The transport has no SCTP association yet (DTLS not up).
    #[error("no SCTP association")]
    NoAssociation,
    /// No open channel with the kind's label (not opened yet, or the client
    /// never created it).
    #[error("channel {0} is not open")]
    ChannelNotOpen(&'static str),
    /// The channel already holds [`MAX_BUFFERED_PER_CHANNEL`] unsent bytes.
    #[error("channel {0} send buffer full")]
    BufferFull(&'static str),
    /// Longer than any record carries (never sent by the control plane).
    #[error("message of {0} bytes too large")]
    TooLarge(usize),
    /// The SCTP layer refused the write.
    #[error("SCTP: {0}")]
    Sctp(#[from] SctpError),
}

/// The channel kind of a message that arrived on `label`, or `None` for a
/// channel that is not one of LiveKit's three (not forwarded).
pub fn kind_of_label(label: &str) -> Option<ChannelKind> {
    ChannelKind::from_label(label)
}

/// Queues `data` as one binary message on the open channel of `kind`.
pub fn send_on_kind(
    sctp: Option<&mut SctpTransport>,
    kind: ChannelKind,
    data: &[u8],
) -> Result<(), DataSendError> {
    if data.len() > DATA_MAX_PAYLOAD {
        return Err(DataSendError::TooLarge(data.len()));
    }
    let sctp = sctp.ok_or(DataSendError::NoAssociation)?;
    if !sctp.is_connected() {
        return Err(DataSendError::NoAssociation);
    }
    let label = kind.label();
    let stream = sctp
        .stream_of(label)
        .ok_or(DataSendError::ChannelNotOpen(label))?;
    if sctp.buffered_amount(stream) >= MAX_BUFFERED_PER_CHANNEL {
        return Err(DataSendError::BufferFull(label));
    }
    sctp.send(stream, true, data)?;
    Ok(())
}

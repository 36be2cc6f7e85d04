//! Data-channel messages between the planes (LIVEKIT_PROTOCOL.md §5).
//!
//! The dataplane knows nothing of rooms, so a data-channel message takes the
//! long way: worker -> control plane (the "data-in" ring: decode the
//! `DataPacket`, check `canPublishData`, stamp the sender, pick recipients)
//! -> worker(s) (the "data-out" ring: send it on the recipient's channel).
//!
//! Both directions use the same fixed-size [`DataRecord`]: the transport, the
//! channel kind and the message inline. The SDKs clamp messages to 64000
//! bytes (`DEFAULT_MAX_MESSAGE_SIZE`), so [`DATA_MAX_PAYLOAD`] (64 KiB) holds
//! any message a well-behaved client sends; longer ones are refused when the
//! record is built. Data is not the media hot path: a record is large and
//! copied whole, and the rings are short ([`DATA_RING_CAPACITY`]) so the
//! shared region stays small. A full ring drops the record and the ring
//! counts it.

use crate::records::TransportId;

/// Largest message a record carries (the SDKs' 64000 fits).
pub const DATA_MAX_PAYLOAD: usize = 64 * 1024;

/// Slots in each data ring (per worker and direction). 128 slots of ~64 KiB
/// is 8 MiB per ring, touched lazily (the memfd is sparse).
pub const DATA_RING_CAPACITY: usize = 128;

/// Which of the three LiveKit data channels a message travels on; the kind of
/// a `DataPacket` follows from it (LIVEKIT_PROTOCOL.md §5.1, §5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ChannelKind {
    /// `_reliable`: ordered, retransmitted.
    Reliable = 0,
    /// `_lossy`: unordered, no retransmissions.
    Lossy = 1,
    /// `_data_track`: raw data-track frames, not `DataPacket`s.
    DataTrack = 2,
}

impl ChannelKind {
    /// The data channel label the SDKs use for this kind.
    pub fn label(self) -> &'static str {
        match self {
            ChannelKind::Reliable => "_reliable",
            ChannelKind::Lossy => "_lossy",
            ChannelKind::DataTrack => "_data_track",
        }
    }

    /// The kind of a channel with `label`; `None` for any other label (an
    /// application's own channels are not LiveKit's and are not forwarded).
    pub fn from_label(label: &str) -> Option<Self> {
        match label {
            "_reliable" => Some(ChannelKind::Reliable),
            "_lossy" => Some(ChannelKind::Lossy),
            "_data_track" => Some(ChannelKind::DataTrack),
            _ => None,
        }
    }

    /// The kind stored as a raw byte in shared memory; `None` for a value
    /// this build does not know (never trust the other process blindly).
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(ChannelKind::Reliable),
            1 => Some(ChannelKind::Lossy),
            2 => Some(ChannelKind::DataTrack),
            _ => None,
        }
    }
}

/// Why a record could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DataRecordError {
    /// The message is longer than [`DATA_MAX_PAYLOAD`].
    #[error("data message of {0} bytes exceeds {DATA_MAX_PAYLOAD}")]
    TooLarge(usize),
}

/// One data-channel message on its way between the planes. Worker -> control:
/// `transport` is the sender's transport. Control -> worker: `transport` is
/// the recipient's transport and `kind` the channel to send on.
///
/// `repr(C)`, `Copy` and pointer-free so it can live in a shared-memory slot.
/// Fields are private and raw: a record read from shared memory is checked
/// by its accessors (an unknown kind reads as `None`, a length is clamped).
#[derive(Clone, Copy)]
#[repr(C)]
pub struct DataRecord {
    transport: TransportId,
    kind: u8,
    _pad: [u8; 3],
    len: u32,
    payload: [u8; DATA_MAX_PAYLOAD],
}

impl std::fmt::Debug for DataRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataRecord")
            .field("transport", &self.transport)
            .field("kind", &self.kind())
            .field("len", &self.len)
            .finish()
    }
}

impl DataRecord {
    /// A record carrying `data` for `transport` on a `kind` channel.
    pub fn new(
        transport: TransportId,
        kind: ChannelKind,
        data: &[u8],
    ) -> Result<Self, DataRecordError> {
        if data.len() > DATA_MAX_PAYLOAD {
            return Err(DataRecordError::TooLarge(data.len()));
        }
        let mut rec = DataRecord {
            transport,
            kind: kind as u8,
            _pad: [0; 3],
            len: data.len() as u32,
            payload: [0; DATA_MAX_PAYLOAD],
        };
        rec.payload[..data.len()].copy_from_slice(data);
        Ok(rec)
    }

    /// Sender (data-in) or recipient (data-out) transport.
    pub fn transport(&self) -> TransportId {
        self.transport
    }

    /// The channel kind, or `None` if the byte is not one this build knows.
    pub fn kind(&self) -> Option<ChannelKind> {
        ChannelKind::from_u8(self.kind)
    }

    /// The message bytes (the length is clamped to the payload array, so a
    /// corrupt slot cannot read out of bounds).
    pub fn payload(&self) -> &[u8] {
        let n = (self.len as usize).min(DATA_MAX_PAYLOAD);
        &self.payload[..n]
    }
}

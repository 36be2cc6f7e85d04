//! Data-channel forwarding between participants (LIVEKIT_PROTOCOL.md §5).
//!
//! The dataplane knows nothing of rooms, so a message takes this route:
//! a worker puts each message from a client's `_reliable`/`_lossy`/
//! `_data_track` channel on its data-in ring; [`pump`] drains those rings,
//! finds the sender from the transport ([`crate::media::MediaControl::owner`]),
//! applies LiveKit's rules ([`routing`]: `canPublishData`, stamping the
//! sender and kind, reliable sequence, destinations), marshals once and
//! puts one record per recipient on the data-out ring of the worker holding
//! the recipient's primary transport ([`link`]). RoomService SendData takes
//! the same way down ([`send_server_data`]).
//!
//! RPC (`rpc_request`/`rpc_ack`/`rpc_response`) and data streams
//! (`stream_header`/`chunk`/`trailer`) are ordinary `DataPacket`s here: they
//! pass through byte for byte apart from the stamped fields.

pub mod counters;
pub mod link;
pub mod pump;
pub mod routing;
pub mod sequence;
pub mod wire;

pub use counters::{DataCounters, DataCountersSnapshot, DropReason};
pub use link::DataLink;
pub use pump::{forward_from, on_record, pump, send_server_data};
pub use routing::{
    pick_recipients, route_participant_packet, server_packet, Destinations, Member, Routed,
    SendDataError, SenderInfo,
};
pub use sequence::SequenceTracker;

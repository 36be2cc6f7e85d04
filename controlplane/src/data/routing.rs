//! LiveKit's rules for forwarding a `DataPacket` (LIVEKIT_PROTOCOL.md §5.6,
//! §5.8, §11.15), as plain functions over bytes: no rings, no locks.
//!
//! A packet from a participant is checked (permission, kind of channel,
//! payload type, reliable sequence), stamped with the sender (sid, identity,
//! kind) and marshalled once; [`Destinations`] then says which of the
//! room's other participants get those same bytes.

// `DataPacket.kind` and `UserPacket.destination_*` are deprecated in the
// proto, but the JS SDK still fills and reads them (§5.4, §5.5).
#![allow(deprecated)]

use livekit_protocol as proto;
use prost::encoding::{self, WireType};
use prost::Message;
use proto::data_packet::Value;
use ringcast_shared::data_ring::{ChannelKind, DATA_MAX_PAYLOAD};

use super::counters::DropReason;
use super::sequence::SequenceTracker;
use super::wire;

// DataPacket field numbers the router rewrites (livekit_models.proto).
const DP_KIND: u32 = 1;
const DP_USER: u32 = 2;
const DP_IDENTITY: u32 = 4;
const DP_DESTINATIONS: u32 = 5;
const DP_SID: u32 = 17;
// UserPacket field numbers the router rewrites.
const UP_SID: u32 = 1;
const UP_IDENTITY: u32 = 5;
const UP_DESTINATIONS: u32 = 6;

/// What the router needs to know about the sender.
#[derive(Debug, Clone, Copy)]
pub struct SenderInfo<'a> {
    pub room: &'a str,
    pub sid: &'a str,
    pub identity: &'a str,
    /// Hidden participants' identity is not put into user packets.
    pub hidden: bool,
    /// The token's `canPublishData`.
    pub can_publish_data: bool,
    /// `ParticipantInfo.kind == AGENT`.
    pub is_agent: bool,
}

/// Who a packet is for: everybody when both lists are empty, else the
/// participants named by identity or (legacy) by sid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destinations {
    pub identities: Vec<String>,
    pub sids: Vec<String>,
}

impl Destinations {
    /// Whether the participant `sid`/`identity` is a recipient.
    pub fn admits(&self, sid: &str, identity: &str) -> bool {
        (self.identities.is_empty() && self.sids.is_empty())
            || self.identities.iter().any(|i| i == identity)
            || self.sids.iter().any(|s| s == sid)
    }
}

/// A packet ready to go: the bytes every recipient gets, the channel kind to
/// send them on, and who the recipients are.
#[derive(Debug, Clone)]
pub struct Routed {
    pub bytes: Vec<u8>,
    pub kind: ChannelKind,
    pub destinations: Destinations,
}

fn proto_kind(kind: ChannelKind) -> i32 {
    match kind {
        ChannelKind::Lossy => proto::data_packet::Kind::Lossy as i32,
        _ => proto::data_packet::Kind::Reliable as i32,
    }
}

fn put_bytes(tag: u32, bytes: &[u8], out: &mut Vec<u8>) {
    encoding::encode_key(tag, WireType::LengthDelimited, out);
    encoding::encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// Applies LiveKit's forwarding rules to `bytes`, a `DataPacket` that
/// arrived on `sender`'s channel of `kind`. `Err` says why it is dropped.
pub fn route_participant_packet(
    sender: &SenderInfo<'_>,
    kind: ChannelKind,
    bytes: &[u8],
    sequences: &mut SequenceTracker,
) -> Result<Routed, DropReason> {
    if kind == ChannelKind::DataTrack {
        return Err(DropReason::DataTrack);
    }
    if !sender.can_publish_data {
        return Err(DropReason::NoPermission);
    }
    let dp = proto::DataPacket::decode(bytes).map_err(|_| DropReason::Malformed)?;
    let fields = wire::fields(bytes).map_err(|_| DropReason::Malformed)?;
    // The sequence is checked before the payload, as livekit-server does: a
    // packet that is not forwarded still advances the sender's count.
    if kind == ChannelKind::Reliable && !sequences.accept(sender.room, sender.sid, dp.sequence) {
        return Err(DropReason::StaleSequence);
    }
    let speaks_for_other = sender.is_agent && !dp.participant_identity.is_empty();
    let keep_identity = match &dp.value {
        Some(Value::Transcription(_)) | Some(Value::Metrics(_)) if !sender.is_agent => {
            return Err(DropReason::NotForwarded);
        }
        // Agents speak for others in transcripts, chat and text streams (§5.6).
        Some(Value::Transcription(_)) | Some(Value::ChatMessage(_)) => speaks_for_other,
        Some(Value::StreamHeader(h)) => {
            speaks_for_other
                && matches!(
                    h.content_header,
                    Some(proto::data_stream::header::ContentHeader::TextHeader(_))
                )
        }
        _ => false,
    };
    // A hidden sender is never named to the others (§2.2: hidden
    // participants are invisible), so its packets arrive as from the server.
    let identity = if keep_identity {
        dp.participant_identity.as_str()
    } else if sender.hidden {
        ""
    } else {
        sender.identity
    };
    let sid = if sender.hidden { "" } else { sender.sid };

    // JS puts destinations in the UserPacket, Rust on the DataPacket: both
    // places carry the same list afterwards (§5.5, §5.6).
    let mut destinations = Destinations {
        identities: dp.destination_identities.clone(),
        sids: Vec::new(),
    };
    let mut user_bytes = None;
    if let Some(Value::User(user)) = &dp.value {
        if destinations.identities.is_empty() {
            destinations.identities = user.destination_identities.clone();
        }
        destinations.sids = user.destination_sids.clone();
        let range = fields
            .iter()
            .rev()
            .find(|(tag, _)| *tag == DP_USER)
            .map(|(_, r)| r.clone())
            .ok_or(DropReason::Malformed)?;
        let inner = wire::payload_of(bytes, range).map_err(|_| DropReason::Malformed)?;
        let patched = wire::patch(inner, &[UP_SID, UP_IDENTITY, UP_DESTINATIONS], |o| {
            if !sender.hidden {
                encoding::string::encode(UP_SID, &sender.sid.to_string(), o);
                encoding::string::encode(UP_IDENTITY, &sender.identity.to_string(), o);
            }
            encoding::string::encode_repeated(UP_DESTINATIONS, &destinations.identities, o);
        })
        .map_err(|_| DropReason::Malformed)?;
        user_bytes = Some(patched);
    }

    let mut drop_fields = vec![DP_KIND, DP_IDENTITY, DP_DESTINATIONS, DP_SID];
    if user_bytes.is_some() {
        drop_fields.push(DP_USER);
    }
    let out = wire::patch(bytes, &drop_fields, |o| {
        let k = proto_kind(kind);
        if k != 0 {
            encoding::int32::encode(DP_KIND, &k, o);
        }
        if !identity.is_empty() {
            encoding::string::encode(DP_IDENTITY, &identity.to_string(), o);
        }
        encoding::string::encode_repeated(DP_DESTINATIONS, &destinations.identities, o);
        if !sid.is_empty() {
            encoding::string::encode(DP_SID, &sid.to_string(), o);
        }
        if let Some(u) = &user_bytes {
            put_bytes(DP_USER, u, o);
        }
    })
    .map_err(|_| DropReason::Malformed)?;
    if out.len() > DATA_MAX_PAYLOAD {
        return Err(DropReason::TooLarge);
    }
    Ok(Routed {
        bytes: out,
        kind,
        destinations,
    })
}

/// Why RoomService SendData was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendDataError {
    /// §5.8: the nonce must be empty or 16 bytes.
    #[error("nonce should be 16-bytes or not present")]
    BadNonce,
    /// The packet would not fit a data record.
    #[error("data packet of {0} bytes exceeds the maximum of {DATA_MAX_PAYLOAD}")]
    TooLarge(usize),
}

/// The packet RoomService SendData broadcasts (§5.8): no sender, sequence 0.
pub fn server_packet(req: &proto::SendDataRequest) -> Result<Routed, SendDataError> {
    if !req.nonce.is_empty() && req.nonce.len() != 16 {
        return Err(SendDataError::BadNonce);
    }
    let kind = if req.kind == proto::data_packet::Kind::Lossy as i32 {
        ChannelKind::Lossy
    } else {
        ChannelKind::Reliable
    };
    #[allow(deprecated)]
    let user = proto::UserPacket {
        payload: req.data.clone(),
        destination_sids: req.destination_sids.clone(),
        destination_identities: req.destination_identities.clone(),
        topic: req.topic.clone(),
        nonce: req.nonce.clone(),
        ..Default::default()
    };
    let dp = proto::DataPacket {
        kind: proto_kind(kind),
        destination_identities: req.destination_identities.clone(),
        value: Some(Value::User(user)),
        ..Default::default()
    };
    let bytes = dp.encode_to_vec();
    if bytes.len() > DATA_MAX_PAYLOAD {
        return Err(SendDataError::TooLarge(bytes.len()));
    }
    Ok(Routed {
        bytes,
        kind,
        destinations: Destinations {
            identities: req.destination_identities.clone(),
            sids: req.destination_sids.clone(),
        },
    })
}

/// One participant of the room as a possible recipient.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub sid: &'a str,
    pub identity: &'a str,
    /// The transport downstream data goes on (its primary PC, §5.3).
    pub transport: Option<ringcast_shared::records::TransportId>,
    /// ParticipantInfo.state == ACTIVE.
    pub active: bool,
}

/// Which transports get `routed`: every member except `sender_sid`,
/// filtered by the destinations. Members that should get it but cannot
/// (no transport; lossy before ACTIVE, §5.9) are returned as drops.
pub fn pick_recipients<'a>(
    sender_sid: Option<&str>,
    routed: &Routed,
    members: impl IntoIterator<Item = Member<'a>>,
) -> (Vec<ringcast_shared::records::TransportId>, Vec<DropReason>) {
    let mut to = Vec::new();
    let mut dropped = Vec::new();
    for m in members {
        if Some(m.sid) == sender_sid || !routed.destinations.admits(m.sid, m.identity) {
            continue;
        }
        if routed.kind == ChannelKind::Lossy && !m.active {
            dropped.push(DropReason::NotActive);
            continue;
        }
        match m.transport {
            Some(t) => to.push(t),
            None => dropped.push(DropReason::NoTransport),
        }
    }
    (to, dropped)
}

//! Our offers on the `/rtc` subscriber PeerConnection (dual-PC mode).
//!
//! The first offer, sent right after the JoinResponse, has only the data
//! m-line: the server opens `_reliable`, `_lossy` and `_data_track` in-band
//! (DCEP) on that association. Each subscribed track then gets a sendonly
//! m-line carrying exactly the publisher's codec. Mids never change across
//! re-offers; a removed track's m-line turns inactive and, once the client has
//! seen that, may carry a later track of the same kind.

use std::collections::HashMap;

use super::answer::{DtlsRole, DEFAULT_MAX_MESSAGE_SIZE, SCTP_PORT};
use super::codecs::{offer_codec_for, OfferCodec};
use super::error::SdpError;
use super::extensions;
use super::model::{Direction, MediaKind, SessionDescription, Setup};
use super::write::{LocalTransport, OutgoingTrack, SdpWriter};

/// The mid of the data m-line, always the first.
pub const DATA_MID: &str = "0";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum SlotState {
    Data,
    Sending(Box<OutgoingTrack>),
    /// No track; `offered` once an offer showed it inactive, after which it
    /// can be reused.
    Free {
        offered: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Slot {
    mid: String,
    kind: MediaKind,
    /// The codec last written on this m-line (kept for the inactive form).
    codec: Option<OfferCodec>,
    state: SlotState,
    /// The track it carried last. The same track never comes back on the
    /// same m-line: the Rust SDK (dual PC) drops a second track event for a
    /// (mid, stream id) pair it has already dispatched.
    last_track: Option<String>,
}

/// The subscriber PeerConnection's m-lines, from which each offer is written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubscriberSession {
    session_id: u64,
    version: u64,
    next_mid: u32,
    slots: Vec<Slot>,
    max_message_size: u64,
}

impl SubscriberSession {
    /// A session with only the data m-line (mid `0`). `session_id` is the
    /// `o=` id, random per PeerConnection.
    pub fn new(session_id: u64) -> Self {
        SubscriberSession {
            session_id,
            version: 0,
            next_mid: 1,
            slots: vec![Slot {
                mid: DATA_MID.to_owned(),
                kind: MediaKind::Application,
                codec: None,
                state: SlotState::Data,
                last_track: None,
            }],
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }

    /// Send `track` to the subscriber; returns its mid. Reuses an inactive
    /// m-line of the same kind that the client has already seen inactive,
    /// else appends one. The kind comes from the codec mime type.
    pub fn add_track(&mut self, track: OutgoingTrack) -> Result<String, SdpError> {
        if let Some(mid) = self.mid_of(&track.track_sid) {
            return Ok(mid.to_owned());
        }
        let codec =
            offer_codec_for(&track.codec_mime, track.codec_fmtp.as_deref()).ok_or_else(|| {
                SdpError::UnsupportedCodec {
                    mime: track.codec_mime.clone(),
                }
            })?;
        let kind = if track.codec_mime.to_ascii_lowercase().starts_with("audio/") {
            MediaKind::Audio
        } else {
            MediaKind::Video
        };
        let reusable = self.slots.iter_mut().find(|s| {
            s.kind == kind
                && s.state == SlotState::Free { offered: true }
                && s.last_track.as_deref() != Some(track.track_sid.as_str())
        });
        let slot = match reusable {
            Some(s) => s,
            None => {
                let mid = self.next_mid.to_string();
                self.next_mid += 1;
                self.slots.push(Slot {
                    mid,
                    kind,
                    codec: None,
                    state: SlotState::Free { offered: false },
                    last_track: None,
                });
                // Just pushed, so the list is not empty.
                let last = self.slots.len() - 1;
                &mut self.slots[last]
            }
        };
        slot.codec = Some(codec);
        slot.state = SlotState::Sending(Box::new(track));
        Ok(slot.mid.clone())
    }

    /// Stop sending `track_sid`; returns the mid it used.
    pub fn remove_track(&mut self, track_sid: &str) -> Option<String> {
        let slot = self
            .slots
            .iter_mut()
            .find(|s| matches!(&s.state, SlotState::Sending(t) if t.track_sid == track_sid))?;
        slot.state = SlotState::Free { offered: false };
        slot.last_track = Some(track_sid.to_owned());
        Some(slot.mid.clone())
    }

    /// The mid a track is sent on.
    pub fn mid_of(&self, track_sid: &str) -> Option<&str> {
        self.slots.iter().find_map(|s| match &s.state {
            SlotState::Sending(t) if t.track_sid == track_sid => Some(s.mid.as_str()),
            _ => None,
        })
    }

    /// `SessionDescription.mid_to_track_id` for the next offer.
    pub fn mid_to_track_id(&self) -> HashMap<String, String> {
        self.slots
            .iter()
            .filter_map(|s| match &s.state {
                SlotState::Sending(t) => Some((s.mid.clone(), t.track_sid.clone())),
                _ => None,
            })
            .collect()
    }

    /// Write the next offer (the `o=` version increases each time).
    pub fn create_offer(&mut self, local: &LocalTransport) -> String {
        self.version += 1;
        let mids: Vec<&str> = self.slots.iter().map(|s| s.mid.as_str()).collect();
        let mut w = SdpWriter::default();
        w.session_header(self.session_id, self.version, &mids, false);
        for slot in &self.slots {
            write_slot(&mut w, slot, local, self.max_message_size);
        }
        for slot in &mut self.slots {
            if let SlotState::Free { offered } = &mut slot.state {
                *offered = true;
            }
        }
        w.finish()
    }
}

/// Our DTLS role after the client's answer to our actpass offer: the client
/// normally answers `active`, making us the DTLS server.
pub fn dtls_role_from_answer(answer: &SessionDescription) -> DtlsRole {
    let setup = answer
        .media
        .iter()
        .find(|m| !m.is_rejected())
        .and_then(|m| answer.setup_for(m));
    match setup {
        Some(Setup::Passive) => DtlsRole::Client,
        _ => DtlsRole::Server,
    }
}

fn write_slot(w: &mut SdpWriter, slot: &Slot, local: &LocalTransport, max_message_size: u64) {
    let codec = match (&slot.state, &slot.codec) {
        (SlotState::Data, _) => {
            w.line(format_args!(
                "m=application 9 UDP/DTLS/SCTP webrtc-datachannel"
            ));
            w.transport(local, Setup::ActPass, &slot.mid, true);
            w.line(format_args!("a=sctp-port:{SCTP_PORT}"));
            w.line(format_args!("a=max-message-size:{max_message_size}"));
            return;
        }
        (_, Some(c)) => c,
        // A media slot always gets a codec in add_track before it exists.
        (_, None) => return,
    };
    let mut pts = codec.payload_type.to_string();
    if let Some(rtx) = codec.rtx_payload_type {
        pts.push_str(&format!(" {rtx}"));
    }
    w.line(format_args!(
        "m={} 9 UDP/TLS/RTP/SAVPF {pts}",
        slot.kind.as_str()
    ));
    w.transport(local, Setup::ActPass, &slot.mid, true);
    for (id, uri) in extensions::subscriber_offer_extmaps(&slot.kind) {
        w.line(format_args!("a=extmap:{id} {uri}"));
    }
    let track = match &slot.state {
        SlotState::Sending(t) => Some(t.as_ref()),
        _ => None,
    };
    w.direction(if track.is_some() {
        Direction::SendOnly
    } else {
        Direction::Inactive
    });
    if let Some(t) = track {
        w.msid(t);
    }
    w.line(format_args!("a=rtcp-mux"));
    let video = matches!(slot.kind, MediaKind::Video);
    if video {
        w.line(format_args!("a=rtcp-rsize"));
    }
    match codec.channels {
        Some(ch) => w.line(format_args!(
            "a=rtpmap:{} {}/{}/{ch}",
            codec.payload_type, codec.name, codec.clock_rate
        )),
        None => w.line(format_args!(
            "a=rtpmap:{} {}/{}",
            codec.payload_type, codec.name, codec.clock_rate
        )),
    }
    let fbs: &[&str] = if video {
        &["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"]
    } else {
        &["transport-cc", "nack"]
    };
    for fb in fbs {
        w.line(format_args!("a=rtcp-fb:{} {fb}", codec.payload_type));
    }
    if let Some(f) = &codec.fmtp {
        w.line(format_args!("a=fmtp:{} {f}", codec.payload_type));
    }
    if let Some(rtx) = codec.rtx_payload_type {
        w.line(format_args!("a=rtpmap:{rtx} rtx/{}", codec.clock_rate));
        w.line(format_args!("a=fmtp:{rtx} apt={}", codec.payload_type));
    }
    if let Some(t) = track {
        w.ssrcs(t, codec.rtx_payload_type.is_some());
    }
}

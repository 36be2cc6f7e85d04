//! Who receives which published track (LIVEKIT_PROTOCOL.md 4), and how the
//! subscriber's SDP and the dataplane's down-tracks follow.
//!
//! A subscription goes `Pending` (decided, not yet in an SDP the client has
//! accepted) -> `Negotiated` (the client has the m-line and our SSRC) ->
//! `Programmed` (the dataplane forwards: `AddDownTrack` was sent, which needs
//! the publisher's source SSRC too).
//!
//! - `slots.rs`: the single-PC client's receive m-lines, assigned by mid;
//! - `plan.rs`: subscribe/unsubscribe and the room events that cause them
//!   (publish, unpublish, join, leave, permission changes);
//! - `single_pc.rs`: the answer to a `/rtc/v1` offer carries subscriptions;
//! - `dual_pc.rs`: the `/rtc` subscriber offers carry subscriptions;
//! - `program.rs`: the dataplane commands and the publisher's TrackSubscribed;
//! - `permissions.rs`: who a publisher lets subscribe (`SubscriptionPermission`);
//! - `settings.rs`: `UpdateTrackSettings` (pause, layer by size).

mod dual_pc;
pub mod permissions;
mod plan;
mod program;
mod settings;
mod single_pc;
pub mod slots;

pub use dual_pc::{
    on_offer_timeout, on_subscriber_answer, prepare_offer, run_offer_timeouts, unanswered_offers,
    SUBSCRIBER_OFFER_TIMEOUT,
};
pub use plan::*;
pub use program::{on_source_changed, stop_all};
pub use settings::{on_track_settings, want_from_settings};
pub use single_pc::{after_answer, before_answer};

use std::collections::{BTreeMap, BTreeSet};

use livekit_protocol as proto;

use crate::sdp::MediaKind;

/// How far a subscription got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SubState {
    /// Decided; no SDP the client accepted carries it yet.
    Pending,
    /// The client has the m-line; the dataplane does not forward yet
    /// (typically the publisher's SSRC is not known yet).
    Negotiated,
    /// `AddDownTrack` was sent.
    Programmed,
}

/// The publisher's media the dataplane forwards from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Source {
    pub ssrc: u32,
    pub payload_type: u8,
}

/// One track a participant receives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Subscription {
    pub track_sid: String,
    pub publisher_sid: String,
    pub kind: MediaKind,
    /// The SSRC we send to the subscriber (random, non-zero, unique per
    /// subscriber).
    pub ssrc: u32,
    /// The RTCP CNAME we announce: the publisher's sid, so its audio and
    /// video share one (lip sync).
    pub cname: String,
    pub codec_mime: String,
    pub codec_fmtp: Option<String>,
    /// The publisher's SSRC and payload type we forward from, once known.
    pub source: Option<Source>,
    /// The payload type the subscriber's SDP gave the codec.
    pub payload_type: Option<u8>,
    /// The subscriber m-line carrying it.
    pub mid: Option<String>,
    pub state: SubState,
    /// Dual PC: carried by the subscriber offer that is out now.
    pub in_offer: bool,
    /// `UpdateTrackSettings.disabled`: forwarding paused, the m-line kept.
    pub disabled: bool,
    /// A `SwitchDownTrack` went out since the `AddDownTrack` (diagnostics;
    /// a re-added down-track continues its numbers in the dataplane).
    pub switched: bool,
    /// The source a paused down-track had: resumed from it, so its sequence
    /// numbers go on forward.
    pub paused_source: Option<Source>,
    /// The simulcast layer the subscriber asked for (`UpdateTrackSettings`).
    pub want: crate::participant::LayerWant,
}

impl Subscription {
    /// The track as the SDP writers need it.
    pub fn outgoing(&self) -> crate::sdp::OutgoingTrack {
        crate::sdp::OutgoingTrack {
            participant_sid: self.publisher_sid.clone(),
            track_sid: self.track_sid.clone(),
            ssrc: self.ssrc,
            rtx_ssrc: None,
            cname: self.cname.clone(),
            codec_mime: self.codec_mime.clone(),
            codec_fmtp: self.codec_fmtp.clone(),
        }
    }

    /// The dataplane's kind.
    pub fn record_kind(&self) -> ringcast_shared::records::MediaKind {
        match self.kind {
            MediaKind::Audio => ringcast_shared::records::MediaKind::Audio,
            _ => ringcast_shared::records::MediaKind::Video,
        }
    }
}

/// A participant's subscriptions and its side of their negotiation.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SubscriberState {
    /// By track sid.
    pub subs: BTreeMap<String, Subscription>,
    /// `/rtc/v1`: the client's receive m-lines.
    pub slots: slots::RecvSlots,
    /// `/rtc`: a subscriber offer is out and not yet answered.
    pub offer_in_flight: bool,
    /// `/rtc`: when the offer that is out was sent (a restored one counts
    /// from the restore).
    #[serde(skip)]
    pub offer_sent_at: Option<std::time::Instant>,
    /// `/rtc`: something changed that the next subscriber offer must carry.
    pub dirty: bool,
    /// As a publisher: its tracks already reported with `TrackSubscribed`.
    pub announced: BTreeSet<String>,
    /// As a publisher: who may subscribe to its tracks.
    pub permissions: permissions::TrackPermissions,
    /// Tracks it wants but their publisher does not allow it, by track sid
    /// (the publisher's sid as value): subscribed once allowed.
    pub blocked: BTreeMap<String, String>,
    /// Tracks it was last told `allowed: false` about.
    pub told_denied: BTreeSet<String>,
}

impl SubscriberState {
    /// A random non-zero SSRC no subscription of this participant uses.
    pub fn fresh_ssrc(&self) -> u32 {
        loop {
            let s: u32 = rand::random();
            if s != 0 && !self.subs.values().any(|x| x.ssrc == s) {
                return s;
            }
        }
    }
}

/// Why a subscription request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    /// No published track with that sid in the room.
    #[error("track not found")]
    TrackNotFound,
    /// The subscriber's grant forbids subscribing.
    #[error("not allowed to subscribe")]
    NotAllowed,
    /// The publisher does not let this subscriber have the track
    /// (`SubscriptionPermission`); it waits until allowed.
    #[error("no permission from the publisher")]
    NoTrackPermission,
    /// The subscriber is the publisher.
    #[error("own track")]
    OwnTrack,
    /// We cannot forward that codec.
    #[error("codec unsupported")]
    CodecUnsupported,
}

impl SubscribeError {
    /// The `SubscriptionError` a client is told, when there is one.
    pub fn to_proto(&self) -> Option<proto::SubscriptionError> {
        match self {
            SubscribeError::TrackNotFound => Some(proto::SubscriptionError::SeTrackNotfound),
            SubscribeError::CodecUnsupported => Some(proto::SubscriptionError::SeCodecUnsupported),
            _ => None,
        }
    }
}

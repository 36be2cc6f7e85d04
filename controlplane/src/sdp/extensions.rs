//! RTP header extensions we negotiate (LIVEKIT_PROTOCOL.md 3.9).
//!
//! In an answer we keep the client's ids for the URIs below. In our own
//! subscriber offers the ids are fixed here, so the dataplane's header
//! rewriting can use constants.

use super::model::MediaKind;

/// `urn:ietf:params:rtp-hdrext:sdes:mid`.
pub const MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
/// `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id` (rid; needed for simulcast).
pub const RID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
/// `urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id` (RTX of a rid).
pub const REPAIRED_RID: &str = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
/// `urn:ietf:params:rtp-hdrext:ssrc-audio-level` (speaker detection).
pub const AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
/// `http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time`.
pub const ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
/// Transport-wide congestion control sequence numbers.
pub const TRANSPORT_CC: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
/// `http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time`.
pub const ABS_CAPTURE_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
/// The AV1 dependency descriptor (SVC layer info, also used with VP9/H264).
pub const DEPENDENCY_DESCRIPTOR: &str =
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension";
/// `urn:ietf:params:rtp-hdrext:framemarking`.
pub const FRAME_MARKING: &str = "urn:ietf:params:rtp-hdrext:framemarking";

/// Whether we keep extension `uri` on a client m-line of `kind` in an answer.
pub fn accepted_in_answer(kind: &MediaKind, uri: &str) -> bool {
    match kind {
        MediaKind::Audio => [
            MID,
            RID,
            AUDIO_LEVEL,
            ABS_SEND_TIME,
            TRANSPORT_CC,
            ABS_CAPTURE_TIME,
        ]
        .contains(&uri),
        MediaKind::Video => [
            MID,
            RID,
            REPAIRED_RID,
            ABS_SEND_TIME,
            TRANSPORT_CC,
            ABS_CAPTURE_TIME,
            DEPENDENCY_DESCRIPTOR,
            FRAME_MARKING,
        ]
        .contains(&uri),
        _ => false,
    }
}

/// The extensions (id, uri) we put on a subscriber m-line of our offer.
/// No `sdes:mid`: like LiveKit, subscribers demux by the `a=ssrc` lines.
pub fn subscriber_offer_extmaps(kind: &MediaKind) -> &'static [(u8, &'static str)] {
    match kind {
        MediaKind::Audio => &[(3, TRANSPORT_CC), (4, ABS_CAPTURE_TIME)],
        MediaKind::Video => &[
            (2, ABS_SEND_TIME),
            (3, TRANSPORT_CC),
            (4, ABS_CAPTURE_TIME),
            (5, DEPENDENCY_DESCRIPTOR),
        ],
        _ => &[],
    }
}

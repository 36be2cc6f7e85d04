//! Subscriptions on the `/rtc` subscriber PeerConnection: we offer, the
//! client answers (LIVEKIT_PROTOCOL.md 2.6). Only one offer is out at a
//! time; what changes meanwhile goes in the next one, sent when the answer
//! arrives.

use livekit_protocol as proto;
use proto::signal_response::Message as Resp;

use super::{program, SubState, SubscriberState};
use crate::media::MediaControl;
use crate::participant::{Outbox, ParticipantSet};
use crate::sdp::codecs::offer_codec_for;
use crate::sdp::SubscriberSession;

/// Puts the waiting subscriptions on `session` before an offer is written,
/// and marks the offer as out. A codec we cannot offer ends the
/// subscription with `SE_CODEC_UNSUPPORTED`.
pub fn prepare_offer(st: &mut SubscriberState, session: &mut SubscriberSession, outbox: &Outbox) {
    let mut failed = Vec::new();
    for sub in st.subs.values_mut() {
        if sub.state != SubState::Pending {
            continue;
        }
        let codec = offer_codec_for(&sub.codec_mime, sub.codec_fmtp.as_deref());
        match (codec, session.add_track(sub.outgoing())) {
            (Some(c), Ok(mid)) => {
                sub.mid = Some(mid);
                sub.payload_type = Some(c.payload_type);
                sub.in_offer = true;
            }
            _ => failed.push(sub.track_sid.clone()),
        }
    }
    for t in failed {
        st.subs.remove(&t);
        session.remove_track(&t);
        tracing::warn!(track = %t, "unsubscribed: codec cannot be offered");
        outbox.send(Resp::SubscriptionResponse(proto::SubscriptionResponse {
            track_sid: t,
            err: proto::SubscriptionError::SeCodecUnsupported as i32,
        }));
    }
    st.offer_in_flight = true;
    st.dirty = false;
}

/// The client answered our subscriber offer: what it carried is negotiated
/// (and programmed); changes made meanwhile go out in a new offer.
pub fn on_subscriber_answer(set: &mut ParticipantSet, media: &MediaControl, sid: &str) {
    let Some(p) = set.get_mut(sid) else { return };
    p.subscriptions.offer_in_flight = false;
    let mut negotiated = Vec::new();
    for sub in p.subscriptions.subs.values_mut() {
        if sub.in_offer {
            sub.in_offer = false;
            if sub.state == SubState::Pending {
                negotiated.push(sub.track_sid.clone());
            }
        }
    }
    for t in negotiated {
        program::on_negotiated(set, media, sid, &t);
    }
    super::sync(set, media, sid);
}

//! Subscriptions on the single `/rtc/v1` PeerConnection: each rides one of
//! the client's recvonly m-lines, turned sendonly in our answer
//! (LIVEKIT_PROTOCOL.md 2.9). `before_answer` learns the offer's m-lines and
//! says what each carries; `after_answer` settles what the answer placed.

use std::collections::HashMap;

use livekit_protocol as proto;
use proto::signal_response::Message as Resp;

use super::{program, SubState, SubscriberState};
use crate::media::MediaControl;
use crate::participant::ParticipantSet;
use crate::sdp::{NegotiatedMedia, OutgoingTrack, SessionDescription};

/// Learns the client's receive m-lines from its offer, gives waiting
/// subscriptions a free one, and returns the tracks the answer sends, by mid.
pub fn before_answer(
    st: &mut SubscriberState,
    offer: &SessionDescription,
) -> HashMap<String, OutgoingTrack> {
    let lost = st.slots.sync_offer(offer);
    for t in lost {
        if let Some(sub) = st.subs.get_mut(&t) {
            sub.mid = None;
        }
    }
    for sub in st.subs.values_mut() {
        if sub.mid.is_none() {
            sub.mid = st.slots.assign(&sub.kind, &sub.track_sid);
        }
    }
    st.subs
        .values()
        .filter_map(|s| Some((s.mid.clone()?, s.outgoing())))
        .collect()
}

/// The answer is on its way: subscriptions it carries are negotiated (and
/// programmed), those it could not place (the client did not offer the
/// codec) end with `SE_CODEC_UNSUPPORTED`, and the client is asked for more
/// m-lines if some still wait.
pub fn after_answer(
    set: &mut ParticipantSet,
    media: &MediaControl,
    sid: &str,
    answered: &[NegotiatedMedia],
) {
    let Some(p) = set.get_mut(sid) else { return };
    let mut negotiated = Vec::new();
    let mut unplaced = Vec::new();
    for sub in p.subscriptions.subs.values_mut() {
        let Some(mid) = sub.mid.as_deref() else {
            continue;
        };
        let m = answered.iter().find(|m| m.mid.as_deref() == Some(mid));
        let placed = m.filter(|m| {
            m.sending
                .as_ref()
                .is_some_and(|t| t.track_sid == sub.track_sid)
        });
        match placed {
            Some(m) => {
                sub.payload_type = m
                    .codecs
                    .iter()
                    .find(|c| !c.is_rtx())
                    .map(|c| c.payload_type);
                if sub.state == SubState::Pending {
                    negotiated.push(sub.track_sid.clone());
                }
            }
            None => unplaced.push(sub.track_sid.clone()),
        }
    }
    for t in &unplaced {
        if let Some(sub) = p.subscriptions.subs.remove(t) {
            program::stop(media, p, &sub);
            if let Some(mid) = &sub.mid {
                p.subscriptions.slots.release(mid, false);
            }
            tracing::warn!(room = %p.room, subscriber = sid, track = %t, codec = %sub.codec_mime, "unsubscribed: the client did not offer the codec");
            p.outbox
                .send(Resp::SubscriptionResponse(proto::SubscriptionResponse {
                    track_sid: t.clone(),
                    err: proto::SubscriptionError::SeCodecUnsupported as i32,
                }));
        }
    }
    p.subscriptions.slots.answered();
    for t in negotiated {
        program::on_negotiated(set, media, sid, &t);
    }
    super::sync(set, media, sid);
}

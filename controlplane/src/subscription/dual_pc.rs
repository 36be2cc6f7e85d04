//! Subscriptions on the `/rtc` subscriber PeerConnection: we offer, the
//! client answers (LIVEKIT_PROTOCOL.md 2.6). Only one offer is out at a
//! time; what changes meanwhile goes in the next one, sent when the answer
//! arrives. An offer unanswered for [`SUBSCRIBER_OFFER_TIMEOUT`] ends the
//! session with a reconnect request, as livekit-server does when a
//! negotiation fails: the client joins afresh.

use std::time::{Duration, Instant};

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
pub fn prepare_offer(
    st: &mut SubscriberState,
    session: &mut SubscriberSession,
    outbox: &Outbox,
    now: Instant,
) {
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
    st.offer_sent_at = Some(now);
    st.dirty = false;
}

/// The client answered our subscriber offer: what it carried is negotiated
/// (and programmed); changes made meanwhile go out in a new offer.
pub fn on_subscriber_answer(set: &mut ParticipantSet, media: &MediaControl, sid: &str) {
    let Some(p) = set.get_mut(sid) else { return };
    p.subscriptions.offer_in_flight = false;
    p.subscriptions.offer_sent_at = None;
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

/// How long a client may take to answer a subscriber offer (livekit-server's
/// negotiation timeout).
pub const SUBSCRIBER_OFFER_TIMEOUT: Duration = Duration::from_secs(15);

/// The participants whose subscriber offer has been out longer than
/// [`SUBSCRIBER_OFFER_TIMEOUT`] at `now`.
pub fn unanswered_offers(set: &ParticipantSet, now: Instant) -> Vec<String> {
    set.iter()
        .filter(|p| {
            p.subscriptions.offer_in_flight
                && p.subscriptions
                    .offer_sent_at
                    .is_some_and(|at| now.saturating_duration_since(at) >= SUBSCRIBER_OFFER_TIMEOUT)
        })
        .map(|p| p.sid.clone())
        .collect()
}

/// `sid` never answered its subscriber offer: asks it to reconnect (a full
/// rejoin, LIVEKIT_PROTOCOL.md 2.15) and takes it out of the room.
pub fn on_offer_timeout(state: &crate::server::AppState, room: &str, sid: &str) {
    let reason = proto::DisconnectReason::StateMismatch;
    let told = state.live.with(room, |set| {
        let p = set.get(sid)?;
        tracing::warn!(%room, participant = %sid, identity = %p.identity, "subscriber offer unanswered: asking for a reconnect");
        p.outbox.send(Resp::Leave(proto::LeaveRequest {
            can_reconnect: true,
            reason: reason as i32,
            action: proto::leave_request::Action::Reconnect as i32,
            regions: None,
        }));
        p.outbox.close();
        Some(())
    });
    if told.flatten().is_some() {
        crate::signal::lobby::leave(state, room, sid, reason);
    }
}

/// Checks every room for unanswered subscriber offers once a second.
pub async fn run_offer_timeouts(state: crate::server::AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = Instant::now();
        for room in state.live.names() {
            let late = state
                .live
                .with(&room, |set| unanswered_offers(set, now))
                .unwrap_or_default();
            for sid in late {
                on_offer_timeout(&state, &room, &sid);
            }
        }
    }
}

//! The dataplane side of a subscription: `AddDownTrack` once the client
//! has accepted the SDP and the publisher's source SSRC is known,
//! `RemoveDownTrack` when it ends, and `TrackSubscribed` to the publisher the
//! first time one of its tracks is received (LIVEKIT_PROTOCOL.md 4.7).

use livekit_protocol as proto;
use proto::signal_response::Message as Resp;
use ringcast_shared::records::{CodecId, DownTrackSpec, TransportId};

use super::{Source, SubState, Subscription};
use crate::media::MediaControl;
use crate::participant::{Participant, ParticipantSet};
use crate::signal::join_request::SignalVariant;

/// The transport a participant receives subscribed media on.
fn sink_of(p: &Participant) -> Option<TransportId> {
    match p.variant {
        SignalVariant::SinglePc => p.publisher_pc.as_ref().map(|t| t.id),
        SignalVariant::DualPc => p.subscriber_pc.as_ref().map(|t| t.id),
    }
}

/// Stops forwarding `sub` to `p` if it was programmed.
pub fn stop(media: &MediaControl, p: &Participant, sub: &Subscription) {
    if sub.state != SubState::Programmed {
        return;
    }
    if let Some(sink) = sink_of(p) {
        media.remove_down_track(sink, sub.ssrc);
    }
}

/// Stops every down-track of a participant that is leaving.
pub fn stop_all(media: &MediaControl, p: &Participant) {
    for sub in p.subscriptions.subs.values() {
        stop(media, p, sub);
    }
}

/// Where a subscription's media can come from now.
struct Sources {
    /// The publisher's transport.
    transport: TransportId,
    /// What the subscriber's `want` should get (None when every source
    /// stopped).
    active: Option<Source>,
    /// The source to start from when nothing flows (the best seen).
    fallback: Option<Source>,
    /// The source a paused subscription had, if it still flows.
    resume: Option<Source>,
}

fn publisher_source(set: &ParticipantSet, sub: &Subscription) -> Option<Sources> {
    let publisher = set.get(&sub.publisher_sid)?;
    let transport = publisher.publisher_pc.as_ref()?.id;
    let track = publisher
        .tracks
        .iter()
        .find(|t| t.info.sid == sub.track_sid)?;
    let to_source = |(ssrc, payload_type): (u32, u8)| Source { ssrc, payload_type };
    Some(Sources {
        transport,
        active: track.active_source(sub.want).map(to_source),
        fallback: track.source().map(to_source),
        resume: sub.paused_source.filter(|s| track.is_flowing(s.ssrc)),
    })
}

/// Sends `AddDownTrack` for a negotiated, enabled subscription whose source
/// is known, or `SwitchDownTrack` when the layer a programmed one should
/// get changed (a layer stopped or resumed, or the subscriber asked for
/// another size). A track whose every source stopped keeps its source.
pub fn program(
    set: &mut ParticipantSet,
    media: &MediaControl,
    subscriber_sid: &str,
    track_sid: &str,
) {
    let Some(sub) = set
        .get(subscriber_sid)
        .and_then(|p| p.subscriptions.subs.get(track_sid))
    else {
        return;
    };
    let Some(Sources {
        transport: source_transport,
        active,
        fallback,
        resume,
    }) = publisher_source(set, sub)
    else {
        return;
    };
    let Some(p) = set.get_mut(subscriber_sid) else {
        return;
    };
    let Some(sink) = sink_of(p) else { return };
    let room = p.room.clone();
    let Some(sub) = p.subscriptions.subs.get_mut(track_sid) else {
        return;
    };
    let Some(payload_type) = sub.payload_type else {
        return;
    };
    match sub.state {
        SubState::Pending => {}
        SubState::Negotiated => {
            if sub.disabled {
                return;
            }
            // Resumed from the layer it was paused on (see `switched`); a
            // later event moves it to the one it should get.
            let Some(source) = resume.or(active).or(fallback) else {
                return;
            };
            let spec = DownTrackSpec {
                source: source_transport,
                source_ssrc: source.ssrc,
                source_pt: source.payload_type,
                sink,
                ssrc: sub.ssrc,
                payload_type,
                kind: sub.record_kind(),
                codec: CodecId::from_mime(&sub.codec_mime),
            };
            if media.add_down_track(spec) {
                sub.state = SubState::Programmed;
                sub.source = Some(source);
                sub.switched = false;
                sub.paused_source = None;
                tracing::debug!(%room, subscriber = subscriber_sid, track = track_sid, ssrc = sub.ssrc, source_ssrc = source.ssrc, "down-track programmed");
            }
        }
        SubState::Programmed => {
            let Some(source) = active else {
                return;
            };
            if sub.source != Some(source)
                && media.switch_down_track(sink, sub.ssrc, source.ssrc, source.payload_type)
            {
                tracing::debug!(%room, subscriber = subscriber_sid, track = track_sid, ssrc = sub.ssrc, source_ssrc = source.ssrc, "down-track switched");
                sub.source = Some(source);
                sub.switched = true;
            }
        }
    }
}

/// Pauses forwarding of a programmed subscription (`RemoveDownTrack`); the
/// subscription and its m-line stay, `program` resumes it from the same
/// source; the dataplane continues the down-track's sequence numbers and
/// timestamps where it stopped.
pub fn pause(media: &MediaControl, p: &mut Participant, track_sid: &str) {
    let Some(sink) = sink_of(p) else { return };
    let room = p.room.clone();
    let Some(sub) = p.subscriptions.subs.get_mut(track_sid) else {
        return;
    };
    if sub.state != SubState::Programmed {
        return;
    }
    tracing::debug!(%room, track = track_sid, ssrc = sub.ssrc, "down-track paused");
    media.remove_down_track(sink, sub.ssrc);
    sub.state = SubState::Negotiated;
    sub.paused_source = sub.source.take();
}

/// The client has accepted the SDP carrying `track_sid`: tell the publisher
/// (once per track) and program the dataplane.
pub fn on_negotiated(
    set: &mut ParticipantSet,
    media: &MediaControl,
    subscriber_sid: &str,
    track_sid: &str,
) {
    let Some(sub) = set
        .get_mut(subscriber_sid)
        .and_then(|p| p.subscriptions.subs.get_mut(track_sid))
    else {
        return;
    };
    if sub.state == SubState::Pending {
        sub.state = SubState::Negotiated;
    }
    let publisher_sid = sub.publisher_sid.clone();
    if let Some(publisher) = set.get_mut(&publisher_sid) {
        if publisher
            .subscriptions
            .announced
            .insert(track_sid.to_owned())
        {
            publisher
                .outbox
                .send(Resp::TrackSubscribed(proto::TrackSubscribed {
                    track_sid: track_sid.to_owned(),
                }));
        }
    }
    program(set, media, subscriber_sid, track_sid);
}

/// The publisher's source for `track_sid` became known or changed: program
/// every subscription waiting for it.
pub fn on_source_changed(set: &mut ParticipantSet, media: &MediaControl, track_sid: &str) {
    let subscribers: Vec<String> = set
        .iter()
        .filter(|p| p.subscriptions.subs.contains_key(track_sid))
        .map(|p| p.sid.clone())
        .collect();
    for sid in subscribers {
        program(set, media, &sid, track_sid);
    }
}

//! Deciding subscriptions: by hand (`UpdateSubscription`, RoomService
//! `UpdateSubscriptions`) and automatically (LIVEKIT_PROTOCOL.md 4.1: a new
//! track goes to everyone who auto-subscribes, a newcomer gets every track
//! already published). Each change is followed by `sync`, which asks the
//! subscriber's SDP to catch up.

use livekit_protocol as proto;
use proto::signal_response::Message as Resp;

use super::{permissions, program, SubState, SubscribeError, Subscription};
use crate::media::MediaControl;
use crate::participant::{Participant, ParticipantSet, PublishedTrack};
use crate::sdp::MediaKind;
use crate::signal::join_request::SignalVariant;

/// The published track `track_sid` and its publisher's sid.
fn find_track<'a>(
    set: &'a ParticipantSet,
    track_sid: &str,
) -> Option<(&'a str, &'a PublishedTrack)> {
    set.iter().find_map(|p| {
        p.tracks
            .iter()
            .find(|t| t.published && t.info.sid == track_sid)
            .map(|t| (p.sid.as_str(), t))
    })
}

fn track_kind(t: &PublishedTrack) -> MediaKind {
    if t.info.r#type == proto::TrackType::Audio as i32 {
        MediaKind::Audio
    } else {
        MediaKind::Video
    }
}

/// Records that `subscriber_sid` receives `track_sid`, without touching the
/// SDP yet. `Ok(false)` when it already did.
pub fn add_subscription(
    set: &mut ParticipantSet,
    subscriber_sid: &str,
    track_sid: &str,
) -> Result<bool, SubscribeError> {
    let (publisher_sid, track) = find_track(set, track_sid).ok_or(SubscribeError::TrackNotFound)?;
    if publisher_sid == subscriber_sid {
        return Err(SubscribeError::OwnTrack);
    }
    let publisher_sid = publisher_sid.to_owned();
    let kind = track_kind(track);
    let mime = if track.info.mime_type.is_empty() {
        track
            .info
            .codecs
            .first()
            .map(|c| c.mime_type.clone())
            .unwrap_or_default()
    } else {
        track.info.mime_type.clone()
    };
    let fmtp = track.codec_fmtp.clone();
    // As livekit-server: the subscriber's grant first, then the publisher's
    // permission, then whether the track can be forwarded.
    let Some(p) = set.get(subscriber_sid) else {
        return Err(SubscribeError::NotAllowed);
    };
    if !p.grant.can_subscribe() {
        return Err(SubscribeError::NotAllowed);
    }
    let allowed = set
        .get(&publisher_sid)
        .is_some_and(|publisher| permissions::may_subscribe(publisher, p, track_sid));
    let Some(p) = set.get_mut(subscriber_sid) else {
        return Err(SubscribeError::NotAllowed);
    };
    if !allowed {
        if let Some(u) = permissions::note_denied(&mut p.subscriptions, &publisher_sid, track_sid) {
            tracing::info!(room = %p.room, subscriber = %subscriber_sid, publisher = %publisher_sid, track = %track_sid, "not allowed by the publisher");
            p.outbox.send(Resp::SubscriptionPermissionUpdate(u));
        }
        return Err(SubscribeError::NoTrackPermission);
    }
    if let Some(u) = permissions::note_allowed(&mut p.subscriptions, &publisher_sid, track_sid) {
        tracing::info!(room = %p.room, subscriber = %subscriber_sid, publisher = %publisher_sid, track = %track_sid, "allowed by the publisher again");
        p.outbox.send(Resp::SubscriptionPermissionUpdate(u));
    }
    if crate::sdp::codecs::offer_codec_for(&mime, fmtp.as_deref()).is_none() {
        return Err(SubscribeError::CodecUnsupported);
    }
    if p.subscriptions.subs.contains_key(track_sid) {
        return Ok(false);
    }
    let ssrc = p.subscriptions.fresh_ssrc();
    let mid = match p.variant {
        SignalVariant::SinglePc => p.subscriptions.slots.assign(&kind, track_sid),
        SignalVariant::DualPc => {
            p.subscriptions.dirty = true;
            None
        }
    };
    p.subscriptions.subs.insert(
        track_sid.to_owned(),
        Subscription {
            track_sid: track_sid.to_owned(),
            publisher_sid: publisher_sid.clone(),
            kind,
            ssrc,
            cname: publisher_sid.clone(),
            codec_mime: mime,
            codec_fmtp: fmtp,
            source: None,
            payload_type: None,
            mid,
            state: SubState::Pending,
            in_offer: false,
            disabled: false,
            switched: false,
            paused_source: None,
            want: crate::participant::LayerWant::Best,
        },
    );
    tracing::info!(room = %p.room, subscriber = %subscriber_sid, publisher = %publisher_sid, track = %track_sid, "subscribed");
    Ok(true)
}

/// Ends `subscriber_sid`'s subscription to `track_sid`, stopping the
/// forwarding now; the SDP follows with `sync`. False if there was none.
pub fn drop_subscription(
    set: &mut ParticipantSet,
    media: &MediaControl,
    subscriber_sid: &str,
    track_sid: &str,
) -> bool {
    let Some(p) = set.get_mut(subscriber_sid) else {
        return false;
    };
    let Some(sub) = p.subscriptions.subs.remove(track_sid) else {
        return false;
    };
    program::stop(media, p, &sub);
    match p.variant {
        SignalVariant::SinglePc => {
            if let Some(mid) = &sub.mid {
                let answered = sub.state != SubState::Pending;
                p.subscriptions.slots.release(mid, answered);
            }
        }
        SignalVariant::DualPc => {
            let removed = p
                .subscriber_sdp
                .as_mut()
                .and_then(|s| s.remove_track(track_sid));
            if removed.is_some() {
                p.subscriptions.dirty = true;
            }
        }
    }
    tracing::info!(room = %p.room, subscriber = %subscriber_sid, publisher = %sub.publisher_sid, track = %track_sid, "unsubscribed");
    true
}

/// Asks the subscriber's SDP to catch up with its subscriptions: on
/// `/rtc/v1` a `MediaSectionsRequirement` (the client re-offers), on `/rtc`
/// a new subscriber offer unless one is already out.
pub fn sync(set: &mut ParticipantSet, media: &MediaControl, sid: &str) {
    let Some(p) = set.get_mut(sid) else { return };
    match p.variant {
        SignalVariant::SinglePc => {
            let st = &mut p.subscriptions;
            let mut waiting = [0u32; 2];
            let mut changed = st.slots.has_releasing();
            for sub in st.subs.values_mut() {
                if sub.mid.is_none() {
                    sub.mid = st.slots.assign(&sub.kind, &sub.track_sid);
                }
                match (&sub.mid, &sub.kind) {
                    (None, MediaKind::Audio) => waiting[0] += 1,
                    (None, _) => waiting[1] += 1,
                    (Some(_), _) => changed |= sub.state == SubState::Pending,
                }
            }
            if let Some(req) = st.slots.requirement(waiting, changed) {
                tracing::debug!(
                    participant = sid,
                    audios = req.num_audios,
                    videos = req.num_videos,
                    "asking for a re-offer"
                );
                p.outbox.send(Resp::MediaSectionsRequirement(req));
            }
        }
        SignalVariant::DualPc => {
            if p.subscriptions.dirty && !p.subscriptions.offer_in_flight {
                crate::signal::negotiation::send_subscriber_offer(set, media, sid);
            }
        }
    }
}

/// Subscribes by hand and brings the SDP along.
pub fn subscribe(
    set: &mut ParticipantSet,
    media: &MediaControl,
    subscriber_sid: &str,
    track_sid: &str,
) -> Result<(), SubscribeError> {
    if add_subscription(set, subscriber_sid, track_sid)? {
        sync(set, media, subscriber_sid);
    }
    Ok(())
}

/// Unsubscribes by hand and brings the SDP along.
pub fn unsubscribe(
    set: &mut ParticipantSet,
    media: &MediaControl,
    subscriber_sid: &str,
    track_sid: &str,
) -> bool {
    let dropped = drop_subscription(set, media, subscriber_sid, track_sid);
    if dropped {
        sync(set, media, subscriber_sid);
    }
    dropped
}

/// The track sids an `UpdateSubscription` names: both of its lists
/// (LIVEKIT_PROTOCOL.md 4.5), each sid once.
pub fn requested_tracks(
    track_sids: &[String],
    participant_tracks: &[proto::ParticipantTracks],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let all = track_sids.iter().chain(
        participant_tracks
            .iter()
            .flat_map(|pt| pt.track_sids.iter()),
    );
    for sid in all {
        if !out.contains(sid) {
            out.push(sid.clone());
        }
    }
    out
}

/// Applies a subscription update of `sid`; returns the tracks that failed
/// and why.
pub fn apply_update(
    set: &mut ParticipantSet,
    media: &MediaControl,
    sid: &str,
    tracks: &[String],
    subscribe: bool,
) -> Vec<(String, SubscribeError)> {
    let mut failed = Vec::new();
    let mut changed = false;
    for t in tracks {
        if subscribe {
            match add_subscription(set, sid, t) {
                Ok(new) => changed |= new,
                Err(e) => {
                    tracing::debug!(participant = sid, track = %t, error = %e, "subscription refused");
                    failed.push((t.clone(), e));
                }
            }
        } else {
            if let Some(p) = set.get_mut(sid) {
                permissions::forget_wanted(&mut p.subscriptions, t);
            }
            changed |= drop_subscription(set, media, sid, t);
        }
    }
    if changed {
        sync(set, media, sid);
    }
    failed
}

/// `SignalRequest.subscription` from participant `sid`: failures the client
/// can act on get a `SubscriptionResponse`.
pub fn on_update_subscription(
    set: &mut ParticipantSet,
    media: &MediaControl,
    sid: &str,
    req: &proto::UpdateSubscription,
) {
    let tracks = requested_tracks(&req.track_sids, &req.participant_tracks);
    let failed = apply_update(set, media, sid, &tracks, req.subscribe);
    let Some(p) = set.get(sid) else { return };
    for (track_sid, e) in failed {
        if let Some(err) = e.to_proto() {
            p.outbox
                .send(Resp::SubscriptionResponse(proto::SubscriptionResponse {
                    track_sid,
                    err: err as i32,
                }));
        }
    }
}

fn auto_subscribes(p: &Participant) -> bool {
    p.auto_subscribe
        && p.grant.can_subscribe()
        && p.state != crate::participant::ParticipantState::Disconnected
}

/// A track was published: everyone else who auto-subscribes and is ACTIVE
/// gets it (LIVEKIT_PROTOCOL.md 2.12: one still connecting gets it with
/// `on_active`). Call after the ParticipantUpdate naming it went out (4.4:
/// it must reach the subscriber before the SDP does).
pub fn on_track_published(
    set: &mut ParticipantSet,
    media: &MediaControl,
    publisher_sid: &str,
    track_sid: &str,
) {
    // Others are never told of a hidden participant, so its tracks could
    // not be matched to a publication (as `on_join`).
    if set.get(publisher_sid).is_none_or(Participant::is_hidden) {
        return;
    }
    let subscribers: Vec<String> = set
        .iter()
        .filter(|p| {
            p.sid != publisher_sid
                && auto_subscribes(p)
                && p.state == crate::participant::ParticipantState::Active
        })
        .map(|p| p.sid.clone())
        .collect();
    for sid in subscribers {
        match add_subscription(set, &sid, track_sid) {
            Ok(true) => sync(set, media, &sid),
            Ok(false) => {}
            Err(e) => {
                tracing::debug!(participant = %sid, track = %track_sid, error = %e, "auto-subscribe skipped")
            }
        }
    }
}

/// A track is gone: every subscription to it ends.
pub fn on_track_unpublished(
    set: &mut ParticipantSet,
    media: &MediaControl,
    publisher_sid: &str,
    track_sid: &str,
) {
    if let Some(p) = set.get_mut(publisher_sid) {
        p.subscriptions.announced.remove(track_sid);
    }
    end_track_everywhere(set, media, track_sid);
}

fn end_track_everywhere(set: &mut ParticipantSet, media: &MediaControl, track_sid: &str) {
    let waiting: Vec<String> = set
        .iter()
        .filter(|p| {
            p.subscriptions.blocked.contains_key(track_sid)
                || p.subscriptions.told_denied.contains(track_sid)
        })
        .map(|p| p.sid.clone())
        .collect();
    for sid in waiting {
        if let Some(p) = set.get_mut(&sid) {
            permissions::forget_track(&mut p.subscriptions, track_sid);
        }
    }
    let subscribers: Vec<String> = set
        .iter()
        .filter(|p| p.subscriptions.subs.contains_key(track_sid))
        .map(|p| p.sid.clone())
        .collect();
    for sid in subscribers {
        unsubscribe(set, media, &sid, track_sid);
    }
}

/// `gone` left the room (already taken out of `set`): the subscriptions to
/// its tracks end. Its own down-tracks stop with its transports
/// (`stop_all`).
pub fn on_participant_gone(set: &mut ParticipantSet, media: &MediaControl, gone: &Participant) {
    for t in &gone.tracks {
        end_track_everywhere(set, media, &t.info.sid);
    }
}

/// A newcomer that auto-subscribes gets every track already published. The
/// SDP is not touched: the join's first negotiation carries them (the
/// JoinResponse, sent before, already lists the tracks). Returns how many
/// subscriptions were added.
pub fn on_join(set: &mut ParticipantSet, sid: &str) -> usize {
    if !set.get(sid).is_some_and(auto_subscribes) {
        return 0;
    }
    let tracks: Vec<String> = set
        .iter()
        .filter(|p| p.sid != sid && !p.is_hidden())
        .flat_map(|p| p.tracks.iter().filter(|t| t.published))
        .map(|t| t.info.sid.clone())
        .collect();
    let mut added = 0;
    for t in tracks {
        match add_subscription(set, sid, &t) {
            Ok(true) => added += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::debug!(participant = sid, track = %t, error = %e, "subscribe at join skipped")
            }
        }
    }
    added
}

/// The participant became ACTIVE (its primary transport connected): the
/// tracks published while it was connecting, which `on_track_published`
/// left out, are subscribed now and its SDP catches up.
pub fn on_active(set: &mut ParticipantSet, media: &MediaControl, sid: &str) {
    if on_join(set, sid) > 0 {
        sync(set, media, sid);
    }
}

/// The participant's grant changed: losing canSubscribe ends every
/// subscription; gaining it subscribes to everything when it auto-subscribes.
pub fn on_permission_changed(set: &mut ParticipantSet, media: &MediaControl, sid: &str) {
    let Some(p) = set.get(sid) else { return };
    if p.grant.can_subscribe() {
        if !auto_subscribes(p) {
            return;
        }
        if on_join(set, sid) > 0 {
            sync(set, media, sid);
        }
        return;
    }
    let tracks: Vec<String> = p.subscriptions.subs.keys().cloned().collect();
    let mut changed = false;
    for t in tracks {
        changed |= drop_subscription(set, media, sid, &t);
    }
    if changed {
        sync(set, media, sid);
    }
}

/// `SignalRequest.subscription_permission` from publisher `sid`
/// (LIVEKIT_PROTOCOL.md 4.8): the new permissions replace the old;
/// subscribers no longer allowed are unsubscribed (and told), those waiting
/// and now allowed are subscribed (and told). A malformed request is
/// ignored and the previous permissions stay, as livekit-server.
pub fn on_subscription_permission(
    set: &mut ParticipantSet,
    media: &MediaControl,
    sid: &str,
    req: &proto::SubscriptionPermission,
) {
    let parsed =
        permissions::TrackPermissions::parse(req, |s| set.get(s).map(|p| p.identity.clone()));
    let perms = match parsed {
        Ok(perms) => perms,
        Err(e) => {
            tracing::warn!(participant = sid, error = %e, "subscription permission refused");
            return;
        }
    };
    let Some(p) = set.get_mut(sid) else { return };
    tracing::info!(room = %p.room, participant = sid, permissions = ?perms, "subscription permissions");
    p.subscriptions.permissions = perms;
    let mut touched: Vec<String> = Vec::new();
    for change in permissions::changes_for(set, sid) {
        match change {
            permissions::PermissionChange::Revoke { subscriber, track } => {
                drop_subscription(set, media, &subscriber, &track);
                if let Some(s) = set.get_mut(&subscriber) {
                    if let Some(u) = permissions::note_denied(&mut s.subscriptions, sid, &track) {
                        s.outbox.send(Resp::SubscriptionPermissionUpdate(u));
                    }
                    tracing::info!(room = %s.room, subscriber = %subscriber, publisher = sid, track = %track, "unsubscribed: permission revoked");
                }
                touched.push(subscriber);
            }
            permissions::PermissionChange::Grant { subscriber, track } => {
                match add_subscription(set, &subscriber, &track) {
                    Ok(_) => touched.push(subscriber),
                    Err(e) => {
                        tracing::debug!(participant = %subscriber, track = %track, error = %e, "subscribe on permission skipped")
                    }
                }
            }
        }
    }
    touched.sort();
    touched.dedup();
    for s in touched {
        sync(set, media, &s);
    }
}

/// RoomService `UpdateSubscriptions` for `identity` in `room`. False when the
/// participant is not connected here.
pub fn update_subscriptions(
    state: &crate::server::AppState,
    req: &proto::UpdateSubscriptionsRequest,
) -> bool {
    let tracks = requested_tracks(&req.track_sids, &req.participant_tracks);
    state
        .live
        .with(&req.room, |set| {
            let sid = set.by_identity(&req.identity).map(|p| p.sid.clone())?;
            apply_update(set, &state.media, &sid, &tracks, req.subscribe);
            Some(())
        })
        .flatten()
        .is_some()
}

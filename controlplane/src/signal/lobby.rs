//! Entering and leaving a room: the checks before the upgrade, the
//! JoinResponse, telling the others, and the first negotiation step.

use axum::http::StatusCode;
use livekit_protocol as proto;
use proto::signal_response::Message as Resp;

use super::join_request::{ConnectParams, SignalVariant};
use super::{join_response, negotiation};
use crate::http::join_check::JoinGrant;
use crate::participant::{Outbox, OutboxRx, Participant, ParticipantSet, ParticipantState};
use crate::server::AppState;

/// A participant that is in the room, with its signaling queue.
pub struct Joined {
    pub room: String,
    pub sid: String,
    pub outbox_rx: OutboxRx,
    /// The participant's `signal_generation` this connection holds.
    pub generation: u64,
}

/// Why a join failed after the upgrade.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("requested room does not exist")]
    NoRoom,
    #[error("room is full")]
    Full,
}

/// The room record for a join: created when `room.auto_create` allows.
fn room_for_join(state: &AppState, name: &str) -> Result<proto::Room, (StatusCode, String)> {
    if let Some(room) = state.rooms.get(name) {
        return Ok(room.to_proto());
    }
    if !state.config.room.auto_create {
        return Err((
            StatusCode::NOT_FOUND,
            crate::http::join_check::ROOM_NOT_FOUND.into(),
        ));
    }
    let (room, created) = state
        .rooms
        .create(name, crate::rooms::CreateOptions::default());
    if created {
        tracing::info!(room = %name, sid = %room.sid, "room created by join");
    }
    Ok(room.to_proto())
}

/// Records a participant in the room record (counts, empty-room clock,
/// and what ListParticipants shows).
fn record_joined(state: &AppState, room: &str, info: &proto::ParticipantInfo) {
    let entry = crate::rooms::ParticipantEntry {
        identity: info.identity.clone(),
        sid: info.sid.clone(),
        info: info.clone(),
    };
    state.rooms.participant_joined(room, entry);
}

/// Checks made before the WebSocket upgrade, so they surface as HTTP errors.
pub fn admit(state: &AppState, grant: &JoinGrant) -> Result<(), (StatusCode, String)> {
    if state
        .counters
        .shutting_down
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "server is shutting down".into(),
        ));
    }
    let room = room_for_join(state, &grant.room)?;
    let max = room.max_participants as usize;
    if max > 0 {
        let count = state.live.with(&grant.room, |set| {
            set.iter().filter(|p| p.identity != grant.identity).count()
        });
        if count.unwrap_or(0) >= max {
            return Err((
                StatusCode::FORBIDDEN,
                "room is full: max participants reached".into(),
            ));
        }
    }
    Ok(())
}

/// Runs `f` on `room`'s participants.
pub fn with_room<R>(
    state: &AppState,
    room: &str,
    f: impl FnOnce(&mut ParticipantSet) -> R,
) -> Option<R> {
    state.live.with(room, f)
}

/// Puts the participant in the room: JoinResponse first, then everyone hears
/// of it, then the first negotiation step of its signaling variant.
pub fn join(
    state: &AppState,
    grant: &JoinGrant,
    params: ConnectParams,
) -> Result<Joined, JoinError> {
    let room_info = room_for_join(state, &grant.room).map_err(|_| JoinError::NoRoom)?;
    let (outbox, outbox_rx) = Outbox::new();
    let claims = &grant.claims;
    let video = claims.video.clone().unwrap_or_default();
    let mut attributes: std::collections::HashMap<String, String> = claims
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    attributes.extend(params.attributes.clone());
    let metadata = if params.metadata.is_empty() {
        claims.metadata.clone()
    } else {
        params.metadata.clone()
    };
    let sid = crate::ids::participant_sid();
    let p = Participant {
        sid: sid.clone(),
        room: grant.room.clone(),
        identity: grant.identity.clone(),
        name: claims.name.clone(),
        metadata,
        attributes,
        state: ParticipantState::Joining,
        version: 1,
        joined_at_ms: super::dispatch::unix_ms(),
        grant: video,
        variant: params.variant,
        protocol: params.protocol,
        client_protocol: params.client_protocol,
        auto_subscribe: params.auto_subscribe,
        kind: kind_from_claims(&claims.kind) as i32,
        disconnect_reason: 0,
        outbox,
        signal_generation: 1,
        detached_until: None,
        transport_failed: false,
        next_offer_id: 1,
        publisher_pc: None,
        subscriber_pc: None,
        subscriber_sdp: None,
        tracks: Vec::new(),
        track_changes: Vec::new(),
        subscriptions: Default::default(),
    };
    let set = state.live.entry(&grant.room);
    let mut set = set.lock().unwrap_or_else(|e| e.into_inner());
    let max = room_info.max_participants as usize;
    if max > 0 && set.iter().filter(|o| o.identity != grant.identity).count() >= max {
        return Err(JoinError::Full);
    }
    if let Some(old) = set.insert(p) {
        crate::subscription::on_participant_gone(&mut set, &state.media, &old);
        evict(state, old, proto::DisconnectReason::DuplicateIdentity);
    }
    let others = set.others_info(&sid);
    let server = join_response::server_info(&state.node_id, &state.config.region);
    let codecs = join_response::enabled_publish_codecs(
        &state
            .config
            .room
            .enabled_codecs
            .iter()
            .map(|c| c.mime.clone())
            .collect::<Vec<_>>(),
    );
    let room_proto = proto::Room {
        num_participants: set.len() as u32,
        ..room_info
    };
    if let Some(me) = set.get_mut(&sid) {
        let jr = join_response::join_response(room_proto, me, others, server, codecs);
        me.outbox.send(Resp::Join(jr));
        me.advance(ParticipantState::Joined);
    }
    set.broadcast_info(&sid);
    if let Some(me) = set.get(&sid) {
        record_joined(state, &grant.room, &me.info());
    }
    tracing::info!(room = %grant.room, participant = %sid, identity = %grant.identity, variant = ?params.variant, "participant joined");
    // The JoinResponse listed the tracks; the first negotiation carries them.
    crate::subscription::on_join(&mut set, &sid);
    match params.variant {
        SignalVariant::DualPc => {
            if set.get(&sid).is_some_and(Participant::subscriber_primary) {
                negotiation::send_subscriber_offer(&mut set, &state.media, &sid);
            }
        }
        SignalVariant::SinglePc => {
            if let Some(offer) = params.publisher_offer {
                negotiation::on_client_offer(
                    &mut set,
                    &state.media,
                    &enabled_codecs(state),
                    &sid,
                    offer,
                );
            }
        }
    }
    crate::subscription::sync(&mut set, &state.media, &sid);
    Ok(Joined {
        room: grant.room.clone(),
        sid,
        outbox_rx,
        generation: 1,
    })
}

/// The room's codec mimes (`room.enabled_codecs`).
pub fn enabled_codecs(state: &AppState) -> Vec<String> {
    state
        .config
        .room
        .enabled_codecs
        .iter()
        .map(|c| c.mime.clone())
        .collect()
}

fn kind_from_claims(kind: &str) -> proto::participant_info::Kind {
    use proto::participant_info::Kind;
    match kind {
        "ingress" => Kind::Ingress,
        "egress" => Kind::Egress,
        "sip" => Kind::Sip,
        "agent" => Kind::Agent,
        _ => Kind::Standard,
    }
}

/// Tells a participant that was taken out of its room why, and frees its
/// transports. The socket closes after the Leave.
pub fn evict(state: &AppState, p: Participant, reason: proto::DisconnectReason) {
    p.outbox.send(Resp::Leave(proto::LeaveRequest {
        can_reconnect: false,
        reason: reason as i32,
        action: proto::leave_request::Action::Disconnect as i32,
        regions: None,
    }));
    p.outbox.close();
    release_transports(state, &p);
    crate::webhook::on_participant_gone(state, &p.room, p.info());
}

fn release_transports(state: &AppState, p: &Participant) {
    crate::subscription::stop_all(&state.media, p);
    for t in [&p.publisher_pc, &p.subscriber_pc].into_iter().flatten() {
        state.media.remove(t.id);
    }
}

/// The participant's socket ended: take it out of the room (if still there).
pub fn leave(state: &AppState, room: &str, sid: &str, reason: proto::DisconnectReason) {
    leave_when(state, room, sid, reason, |_| true);
}

/// [`leave`] if `still` holds for the participant when the room's lock is
/// taken (a detached participant may have resumed meanwhile).
pub fn leave_when(
    state: &AppState,
    room: &str,
    sid: &str,
    reason: proto::DisconnectReason,
    still: impl FnOnce(&Participant) -> bool,
) {
    let remaining = state.live.with(room, |set| {
        if !set.get(sid).is_some_and(still) {
            return set.len();
        }
        if let Some(p) = set.take(sid, reason) {
            tracing::info!(%room, participant = %sid, identity = %p.identity, ?reason, "participant left");
            crate::subscription::on_participant_gone(set, &state.media, &p);
            release_transports(state, &p);
            crate::webhook::on_participant_gone(state, room, p.info());
            // Only the entry of this session: a newer one with the same
            // identity (duplicate join) stays.
            let same = state.rooms.get(room).and_then(|r| r.participants.get(&p.identity).map(|e| e.sid == p.sid));
            if same == Some(true) {
                state.rooms.participant_left(room, &p.identity);
            }
        }
        set.len()
    });
    if remaining == Some(0) {
        state.live.remove_if_empty(room);
    }
}

/// The current info of `identity` in `room`, if connected here.
pub fn live_info(state: &AppState, room: &str, identity: &str) -> Option<proto::ParticipantInfo> {
    state
        .live
        .with(room, |set| set.by_identity(identity).map(Participant::info))
        .flatten()
}

/// Takes `identity` out of `room` on the server's initiative (RoomService
/// RemoveParticipant): the others are told, it gets a Leave with `reason`.
/// Returns whether it was connected.
pub fn remove_identity(
    state: &AppState,
    room: &str,
    identity: &str,
    reason: proto::DisconnectReason,
) -> bool {
    let removed = state.live.with(room, |set| {
        let sid = set.by_identity(identity).map(|p| p.sid.clone())?;
        let p = set.take(&sid, reason)?;
        crate::subscription::on_participant_gone(set, &state.media, &p);
        Some(p)
    });
    match removed.flatten() {
        Some(p) => {
            tracing::info!(%room, participant = %p.sid, %identity, ?reason, "participant removed");
            state.rooms.participant_left(room, identity);
            evict(state, p, reason);
            true
        }
        None => false,
    }
}

/// Disconnects everyone in `room` (DeleteRoom) with `reason`.
pub fn close_room(state: &AppState, room: &str, reason: proto::DisconnectReason) {
    let Some(set) = state.live.remove(room) else {
        return;
    };
    let mut set = set.lock().unwrap_or_else(|e| e.into_inner());
    let sids: Vec<String> = set.iter().map(|p| p.sid.clone()).collect();
    for sid in sids {
        if let Some(p) = set.take(&sid, reason) {
            evict(state, p, reason);
        }
    }
}

/// Tells everyone in `room` about a change of the room (RoomUpdate; `room`
/// is always set: the Rust SDK unwraps it).
pub fn broadcast_room_update(state: &AppState, room: &str, info: &proto::Room) {
    let num_participants = state.live.with(room, |set| set.len() as u32);
    state.live.with(room, |set| {
        let room = proto::Room {
            num_participants: num_participants.unwrap_or(info.num_participants),
            ..info.clone()
        };
        set.send_all(|| {
            Resp::RoomUpdate(proto::RoomUpdate {
                room: Some(room.clone()),
            })
        });
    });
}

/// RoomService UpdateParticipant on a connected participant: name,
/// metadata, attributes (an empty value deletes the key) and permissions
/// change, and everyone (the participant included) gets the new info.
/// `None` when `identity` is not connected here.
pub fn update_participant(
    state: &AppState,
    room: &str,
    req: &proto::UpdateParticipantRequest,
) -> Option<proto::ParticipantInfo> {
    let (info, sid) = state
        .live
        .with(room, |set| {
            let sid = set.by_identity(&req.identity).map(|p| p.sid.clone())?;
            let p = set.get_mut(&sid)?;
            if !req.name.is_empty() {
                p.name = req.name.clone();
            }
            if !req.metadata.is_empty() {
                p.metadata = req.metadata.clone();
            }
            for (k, v) in &req.attributes {
                if v.is_empty() {
                    p.attributes.remove(k);
                } else {
                    p.attributes.insert(k.clone(), v.clone());
                }
            }
            let could_subscribe = p.grant.can_subscribe();
            if let Some(perm) = &req.permission {
                let g = &mut p.grant;
                g.can_subscribe = Some(perm.can_subscribe);
                g.can_publish = Some(perm.can_publish);
                g.can_publish_data = Some(perm.can_publish_data);
                g.can_update_own_metadata = Some(perm.can_update_metadata);
                g.hidden = perm.hidden;
                g.can_publish_sources = perm
                    .can_publish_sources
                    .iter()
                    .map(|s| crate::participant::source_grant_name(*s))
                    .filter(|name| *name != "unknown")
                    .map(str::to_string)
                    .collect();
            }
            // Tracks the new permissions no longer allow are unpublished,
            // as livekit-server does on a revoked canPublish(Sources).
            let mut revoked = Vec::new();
            let grant = p.grant.clone();
            p.tracks.retain(|t| {
                let allowed = grant
                    .can_publish_source(crate::participant::source_grant_name(t.info.source));
                if !allowed && t.published {
                    revoked.push(t.info.clone());
                }
                allowed
            });
            for t in &revoked {
                tracing::info!(%room, participant = %sid, track = %t.sid, "track unpublished: publish permission revoked");
                p.track_changes
                    .push(crate::participant::TrackChange::Unpublished(t.clone()));
            }
            p.version += 1;
            let info = p.info();
            set.broadcast_info(&sid);
            for t in &revoked {
                crate::subscription::on_track_unpublished(set, &state.media, &sid, &t.sid);
            }
            if could_subscribe != info.permission.as_ref().is_some_and(|p| p.can_subscribe) {
                crate::subscription::on_permission_changed(set, &state.media, &sid);
            }
            Some((info, sid))
        })
        .flatten()?;
    flush_track_changes(state, room, &sid);
    Some(info)
}

/// RoomService MutePublishedTrack on a connected participant: the track's
/// `muted` changes for everyone (ParticipantUpdate) and the publisher is told
/// to mute it itself (SignalResponse.mute), as livekit-server does, so its
/// SDK stops sending and shows the track muted. `None` when `identity` is not
/// connected here; `Some(None)` when it has no such track.
pub fn mute_track(
    state: &AppState,
    room: &str,
    identity: &str,
    track_sid: &str,
    muted: bool,
) -> Option<Option<proto::TrackInfo>> {
    state.live.with(room, |set| {
        let sid = set.by_identity(identity).map(|p| p.sid.clone())?;
        let p = set.get_mut(&sid)?;
        let Some(t) = p.tracks.iter_mut().find(|t| t.info.sid == track_sid) else {
            return Some(None);
        };
        let changed = t.info.muted != muted;
        t.info.muted = muted;
        let info = t.info.clone();
        let published = t.published;
        p.outbox.send(Resp::Mute(proto::MuteTrackRequest {
            sid: track_sid.to_string(),
            muted,
        }));
        if changed && published {
            p.version += 1;
            set.broadcast_info(&sid);
        }
        tracing::info!(%room, participant = %sid, track = %track_sid, muted, "track muted by the server");
        Some(Some(info))
    })?
}

/// Reports a participant's track changes: a `track_published` /
/// `track_unpublished` webhook each and a fresh room-record entry (so
/// `num_publishers` and ListParticipants are right).
pub fn flush_track_changes(state: &AppState, room: &str, sid: &str) {
    let drained = state.live.with(room, |set| {
        let p = set.get_mut(sid)?;
        if p.track_changes.is_empty() {
            return None;
        }
        let changes = std::mem::take(&mut p.track_changes);
        Some((changes, p.info()))
    });
    let Some((changes, info)) = drained.flatten() else {
        return;
    };
    record_joined(state, room, &info);
    let room_info = state.rooms.get(room).map(|r| r.to_proto());
    for change in changes {
        let (event, track) = match change {
            crate::participant::TrackChange::Published(t) => ("track_published", t),
            crate::participant::TrackChange::Unpublished(t) => ("track_unpublished", t),
        };
        tracing::info!(%room, participant = %sid, track = %track.sid, kind = track.r#type, %event, "track");
        state.webhooks.notify(proto::WebhookEvent {
            event: event.into(),
            room: room_info.as_ref().map(|r| proto::Room {
                sid: r.sid.clone(),
                name: r.name.clone(),
                ..Default::default()
            }),
            participant: Some(proto::ParticipantInfo {
                sid: info.sid.clone(),
                identity: info.identity.clone(),
                ..Default::default()
            }),
            track: Some(track),
            ..Default::default()
        });
    }
}

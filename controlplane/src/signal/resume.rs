//! Resuming a session whose signaling connection dropped (LIVEKIT_PROTOCOL
//! 2.14): the participant, its transports and its subscriptions stayed, so
//! media never stopped; the client reconnects the WebSocket with
//! `reconnect=1` and its sid, gets a `ReconnectResponse` first, then the room
//! as it is now, and re-offers with an ICE restart on the same transport.
//!
//! A participant whose socket drops without a Leave is kept *detached* for
//! [`RESUME_GRACE`] (and so is every participant a restarted control plane
//! took back from the snapshot); one that does not resume by then leaves.

use std::time::{Duration, Instant};

use livekit_protocol as proto;
use proto::signal_response::Message as Resp;

use super::join_request::{ConnectParams, SignalVariant};
use super::lobby::Joined;
use super::{join_response, negotiation};
use crate::http::join_check::JoinGrant;
use crate::participant::Outbox;
use crate::server::AppState;

/// How long a participant without a signaling connection is kept for a
/// resume. The SDKs try to resume at once, then back off for ~30 s in all;
/// the Rust SDK's first failed resume turns into a full rejoin anyway.
pub const RESUME_GRACE: Duration = Duration::from_secs(15);

/// Why a resume could not be honoured (the client is then told to rejoin).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResumeError {
    #[error("no participant {0} in this room")]
    Unknown(String),
    #[error("participant {sid} is not {identity}")]
    OtherIdentity { sid: String, identity: String },
}

/// Attaches a new signaling connection to the participant `params` names.
pub fn resume(
    state: &AppState,
    grant: &JoinGrant,
    params: &ConnectParams,
) -> Result<Joined, ResumeError> {
    let sid = params.participant_sid.clone();
    let room = grant.room.clone();
    let (outbox, outbox_rx) = Outbox::new();
    let room_proto = state.rooms.get(&room).map(|r| r.to_proto());
    let server = join_response::server_info(&state.node_id, &state.config.region);
    let generation = state
        .live
        .with(&room, |set| {
            let p = set
                .get_mut(&sid)
                .ok_or_else(|| ResumeError::Unknown(sid.clone()))?;
            if p.identity != grant.identity {
                return Err(ResumeError::OtherIdentity {
                    sid: sid.clone(),
                    identity: grant.identity.clone(),
                });
            }
            p.outbox = outbox;
            p.signal_generation += 1;
            p.detached_until = None;
            let generation = p.signal_generation;
            p.outbox.send(Resp::Reconnect(proto::ReconnectResponse {
                ice_servers: Vec::new(),
                client_configuration: Some(join_response::client_configuration()),
                server_info: Some(server),
                last_message_seq: 0,
            }));
            // What it may have missed while away: everyone as they are now,
            // and the room.
            let mut everyone = set.others_info(&sid);
            if let Some(me) = set.get(&sid) {
                everyone.push(me.info());
            }
            let Some(me) = set.get_mut(&sid) else {
                return Err(ResumeError::Unknown(sid.clone()));
            };
            me.outbox.send(Resp::Update(proto::ParticipantUpdate {
                participants: everyone,
            }));
            if let Some(room) = room_proto {
                me.outbox
                    .send(Resp::RoomUpdate(proto::RoomUpdate { room: Some(room) }));
            }
            // A subscriber offer that was out may have been lost with the
            // old socket: offer again (same m-lines, a newer version).
            let reoffer = me.variant == SignalVariant::DualPc
                && me.subscriber_pc.is_some()
                && me.subscriptions.offer_in_flight;
            if reoffer {
                negotiation::send_subscriber_offer(set, &state.media, &sid);
            }
            crate::subscription::sync(set, &state.media, &sid);
            Ok(generation)
        })
        .ok_or_else(|| ResumeError::Unknown(sid.clone()))??;
    tracing::info!(%room, participant = %sid, identity = %grant.identity, "participant resumed");
    Ok(Joined {
        room,
        sid,
        outbox_rx,
        generation,
    })
}

/// The socket of generation `generation` closed without a Leave: keep the
/// participant for a resume, unless one of its transports already failed
/// (then it leaves now). Returns true if it was kept.
pub fn detach(state: &AppState, room: &str, sid: &str, generation: u64, now: Instant) -> bool {
    let outcome = state
        .live
        .with(room, |set| match set.get_mut(sid) {
            Some(p) if p.signal_generation == generation && p.transport_failed => Some(false),
            Some(p) if p.signal_generation == generation => {
                p.outbox = Outbox::default();
                p.detached_until = Some(now + RESUME_GRACE);
                tracing::info!(%room, participant = %sid, "signaling lost: kept for a resume");
                Some(true)
            }
            _ => None,
        })
        .flatten();
    if outcome == Some(false) {
        super::lobby::leave(state, room, sid, proto::DisconnectReason::SignalClose);
    }
    outcome == Some(true)
}

/// Participants detached past their grace, as (room, sid).
pub fn expired(state: &AppState, now: Instant) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for room in state.live.names() {
        state.live.read(&room, |set| {
            for p in set.iter() {
                if p.detached_until.is_some_and(|t| t <= now) {
                    out.push((room.clone(), p.sid.clone()));
                }
            }
        });
    }
    out
}

/// Removes participants that did not resume in time (every second).
pub async fn run_expiry(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for (room, sid) in expired(&state, Instant::now()) {
            tracing::info!(%room, participant = %sid, "no resume within the grace: leaving");
            let now = Instant::now();
            super::lobby::leave_when(
                &state,
                &room,
                &sid,
                proto::DisconnectReason::SignalClose,
                |p| p.detached_until.is_some_and(|t| t <= now),
            );
        }
    }
}

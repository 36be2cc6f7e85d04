//! Drains the data-in rings and routes each message to its recipients
//! through the data-out rings, with the room state of [`AppState`].

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use ringcast_shared::data_ring::{ChannelKind, DataRecord};
use ringcast_shared::records::TransportId;
use ringcast_shared::ring::Consumer;

use super::counters::DropReason;
use super::routing::{self, Member, Routed, SendDataError, SenderInfo};
use crate::participant::{Participant, ParticipantSet, ParticipantState};
use crate::server::AppState;

/// How often the data-in rings are drained. Data wants lower latency than
/// the transport events, and an idle poll costs little.
pub const DATA_POLL: Duration = Duration::from_millis(1);

/// Records taken from one worker's ring per poll (bounds one poll's work).
pub const RECORDS_PER_POLL: usize = 256;

/// How often state about departed senders and transports is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(10);

/// Drains every worker's data-in ring forever (index = worker).
pub async fn pump(state: AppState, mut consumers: Vec<Consumer<DataRecord>>) {
    let mut tick = tokio::time::interval(DATA_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_prune = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        state.data.flush();
        for (w, c) in consumers.iter_mut().enumerate() {
            for _ in 0..RECORDS_PER_POLL {
                let Some(rec) = c.try_pop() else { break };
                on_record(&state, w as u16, &rec);
            }
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = tokio::time::Instant::now();
            prune(&state);
        }
    }
}

/// One message from worker `worker`'s data-in ring.
pub fn on_record(state: &AppState, worker: u16, rec: &DataRecord) {
    let c = &state.data.counters;
    c.packets_in.fetch_add(1, Ordering::Relaxed);
    c.bytes_in
        .fetch_add(rec.payload().len() as u64, Ordering::Relaxed);
    state.data.note_worker(rec.transport(), worker);
    let Some(kind) = rec.kind() else {
        c.drop(DropReason::UnknownKind);
        return;
    };
    let Some(owner) = state.media.owner(rec.transport()) else {
        c.drop(DropReason::UnknownSender);
        return;
    };
    forward_from(
        state,
        &owner.room,
        &owner.participant_sid,
        kind,
        rec.payload(),
    );
}

/// Routes a packet that participant `sid` of `room` sent on its channel of
/// `kind`; returns how many copies were queued.
pub fn forward_from(
    state: &AppState,
    room: &str,
    sid: &str,
    kind: ChannelKind,
    payload: &[u8],
) -> usize {
    let plan = state.live.with(room, |set| {
        let Some(p) = set.get(sid) else {
            return Err(DropReason::UnknownSender);
        };
        let sender = SenderInfo {
            room,
            sid,
            identity: &p.identity,
            hidden: p.is_hidden(),
            can_publish_data: p.grant.can_publish_data(),
            is_agent: p.kind == proto::participant_info::Kind::Agent as i32,
        };
        let routed = {
            let mut seq = state
                .data
                .sequences
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            routing::route_participant_packet(&sender, kind, payload, &mut seq)?
        };
        Ok(plan_for(set, Some(sid), routed))
    });
    match plan.unwrap_or(Err(DropReason::UnknownSender)) {
        Ok(plan) => deliver(state, plan),
        Err(reason) => {
            state.data.counters.drop(reason);
            0
        }
    }
}

/// RoomService SendData: the server's packet to everyone in `room` (or the
/// named participants). Returns how many copies were queued.
pub fn send_server_data(
    state: &AppState,
    req: &proto::SendDataRequest,
) -> Result<usize, SendDataError> {
    let routed = match routing::server_packet(req) {
        Ok(r) => r,
        Err(e) => {
            if matches!(e, SendDataError::TooLarge(_)) {
                state.data.counters.drop(DropReason::TooLarge);
            }
            return Err(e);
        }
    };
    state
        .data
        .counters
        .server_packets
        .fetch_add(1, Ordering::Relaxed);
    let plan = state
        .live
        .with(&req.room, |set| plan_for(set, None, routed));
    Ok(plan.map_or(0, |plan| deliver(state, plan)))
}

/// The transport downstream data goes on: the primary PC (§5.3).
fn primary_transport(p: &Participant) -> Option<TransportId> {
    let t = if p.subscriber_primary() {
        p.subscriber_pc.as_ref().or(p.publisher_pc.as_ref())
    } else {
        p.publisher_pc.as_ref()
    };
    t.map(|t| t.id)
}

/// A routed packet, the transports it goes to, and the copies that could
/// not be addressed.
struct Plan {
    routed: Routed,
    to: Vec<TransportId>,
    dropped: Vec<DropReason>,
}

fn plan_for(set: &ParticipantSet, sender_sid: Option<&str>, routed: Routed) -> Plan {
    let members = set.iter().map(|p| Member {
        sid: &p.sid,
        identity: &p.identity,
        transport: primary_transport(p),
        active: p.state == ParticipantState::Active,
    });
    let (to, dropped) = routing::pick_recipients(sender_sid, &routed, members);
    Plan {
        routed,
        to,
        dropped,
    }
}

fn deliver(state: &AppState, plan: Plan) -> usize {
    for reason in plan.dropped {
        state.data.counters.drop(reason);
    }
    if plan.to.is_empty() {
        return 0;
    }
    // Marshalled once; every recipient's record copies the same bytes.
    let bytes: Arc<[u8]> = Arc::from(plan.routed.bytes);
    plan.to
        .iter()
        .filter(|&&t| state.data.send(t, plan.routed.kind, &bytes))
        .count()
}

/// Forgets senders and transports that are gone.
fn prune(state: &AppState) {
    state
        .data
        .retain_transports(|id| state.media.owner(id).is_some());
    let mut seq = state
        .data
        .sequences
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    seq.retain(|room, sid| {
        state
            .live
            .with(room, |set| set.get(sid).is_some())
            .unwrap_or(false)
    });
}

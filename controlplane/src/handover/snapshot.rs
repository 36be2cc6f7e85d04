//! The control plane's state as the region keeps it across a restart.
//!
//! JSON, written by one task every [`SNAPSHOT_EVERY`] when it changed. A
//! control plane killed between two writes loses at most that much: a
//! participant that joined in the last moments is unknown to the next one
//! and is told to rejoin, like any unknown resume.

use std::time::{Duration, Instant};

use ringcast_shared::records::TransportId;
use ringcast_shared::ring::ShmRegion;
use serde::{Deserialize, Serialize};

use crate::media::TransportOwner;
use crate::participant::Participant;
use crate::rooms::Room;
use crate::server::AppState;

/// How often the snapshot is refreshed.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(100);

/// Bumped when the snapshot's meaning changes; an unknown one is ignored.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// Why a snapshot could not be taken back.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot does not decode: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("snapshot format {0}, this build reads {SNAPSHOT_FORMAT}")]
    Format(u32),
}

#[derive(Serialize)]
struct SnapshotOut<'a> {
    format: u32,
    next_transport_id: u64,
    owners: Vec<(TransportId, TransportOwner)>,
    rooms: Vec<Room>,
    live: Vec<LiveOut<'a>>,
}

#[derive(Serialize)]
struct LiveOut<'a> {
    room: &'a str,
    participants: serde_json::Value,
}

#[derive(Deserialize)]
struct SnapshotIn {
    format: u32,
    next_transport_id: u64,
    owners: Vec<(TransportId, TransportOwner)>,
    rooms: Vec<Room>,
    live: Vec<LiveIn>,
}

#[derive(Deserialize)]
struct LiveIn {
    room: String,
    participants: Vec<Participant>,
}

/// The state now, as bytes for the region.
pub fn take(state: &AppState) -> Result<Vec<u8>, serde_json::Error> {
    let (next_transport_id, owners) = state.media.export();
    let names = state.live.names();
    let mut live = Vec::with_capacity(names.len());
    for room in &names {
        // Each room under its own lock only for the copy.
        let value = state
            .live
            .read(room, |set| {
                serde_json::to_value(set.iter().collect::<Vec<_>>())
            })
            .transpose()?;
        if let Some(participants) = value {
            live.push(LiveOut {
                room: room.as_str(),
                participants,
            });
        }
    }
    serde_json::to_vec(&SnapshotOut {
        format: SNAPSHOT_FORMAT,
        next_transport_id,
        owners,
        rooms: state.rooms.list(&[]),
        live,
    })
}

/// What a restore took back.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    pub rooms: usize,
    pub participants: usize,
    pub transports: usize,
}

/// Takes back a snapshot: rooms, transport owners, and every participant
/// detached until `now + RESUME_GRACE`.
pub fn restore(state: &AppState, bytes: &[u8], now: Instant) -> Result<Restored, SnapshotError> {
    let snap: SnapshotIn = serde_json::from_slice(bytes)?;
    if snap.format != SNAPSHOT_FORMAT {
        return Err(SnapshotError::Format(snap.format));
    }
    let mut done = Restored {
        rooms: snap.rooms.len(),
        transports: snap.owners.len(),
        ..Restored::default()
    };
    state.media.restore(snap.next_transport_id, snap.owners);
    for room in snap.rooms {
        state.rooms.restore(room);
    }
    let until = now + crate::signal::resume::RESUME_GRACE;
    for live in snap.live {
        let set = state.live.entry(&live.room);
        let mut set = set.lock().unwrap_or_else(|e| e.into_inner());
        for mut p in live.participants {
            p.detached_until = Some(until);
            p.signal_generation = 1;
            if p.subscriptions.offer_in_flight {
                // Its offer-timeout clock starts again now.
                p.subscriptions.offer_sent_at = Some(now);
            }
            done.participants += 1;
            set.insert(p);
        }
    }
    Ok(done)
}

/// Keeps the region's snapshot current until the process ends.
pub async fn keep_published(state: AppState, region: ShmRegion) {
    let mut tick = tokio::time::interval(SNAPSHOT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Vec<u8> = Vec::new();
    let mut seen = None;
    loop {
        tick.tick().await;
        // Serializing every participant costs; skip it while nothing was
        // even touched (transports only change under a room's lock).
        let now = Some(state.live.changes().wrapping_add(state.rooms.changes()));
        if now == seen {
            continue;
        }
        seen = now;
        publish_if_changed(&state, &region, &mut last);
    }
}

/// One refresh: taken and written only when different from `last`.
pub fn publish_if_changed(state: &AppState, region: &ShmRegion, last: &mut Vec<u8>) {
    let bytes = match take(state) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "control-state snapshot failed");
            return;
        }
    };
    if bytes == *last {
        return;
    }
    if let Err(e) = region.publish_control_state(&bytes) {
        tracing::warn!(error = %e, "control-state snapshot not kept");
        return;
    }
    *last = bytes;
}

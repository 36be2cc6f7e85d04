use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::ParticipantSet;

/// The participants of every room on this node, one lock per room so rooms
/// never wait on each other. Room records (sid, metadata, timeouts) live in
/// `rooms::RoomRegistry`; this holds who is connected.
#[derive(Debug, Default)]
pub struct LiveRooms {
    rooms: Mutex<HashMap<String, Arc<Mutex<ParticipantSet>>>>,
    /// Bumped by every access that may change a room (a hint for the
    /// handover snapshot: unchanged means nothing to write).
    changes: AtomicU64,
}

impl LiveRooms {
    /// The participant set of `room`, created empty on first use.
    pub fn entry(&self, room: &str) -> Arc<Mutex<ParticipantSet>> {
        self.changes.fetch_add(1, Ordering::Relaxed);
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.entry(room.to_string()).or_default().clone()
    }

    /// The participant set of `room` if anybody joined it.
    pub fn get(&self, room: &str) -> Option<Arc<Mutex<ParticipantSet>>> {
        let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.get(room).cloned()
    }

    /// Forgets `room` (deleted, or closed when empty).
    pub fn remove(&self, room: &str) -> Option<Arc<Mutex<ParticipantSet>>> {
        self.changes.fetch_add(1, Ordering::Relaxed);
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.remove(room)
    }

    /// Forgets `room` if nobody is in it (checked under both locks, so a
    /// participant joining at the same moment is never orphaned).
    pub fn remove_if_empty(&self, room: &str) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let empty = rooms
            .get(room)
            .is_some_and(|s| s.lock().map(|g| g.is_empty()).unwrap_or(false));
        if empty {
            rooms.remove(room);
        }
    }

    /// Runs `f` on `room`'s participants under its lock, for reading only
    /// (not counted as a change).
    pub fn read<R>(&self, room: &str, f: impl FnOnce(&ParticipantSet) -> R) -> Option<R> {
        let set = self.get(room)?;
        let guard = set.lock().unwrap_or_else(|e| e.into_inner());
        Some(f(&guard))
    }

    /// How many possibly-changing accesses so far.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    /// The rooms anybody joined, for periodic checks.
    pub fn names(&self) -> Vec<String> {
        let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.keys().cloned().collect()
    }

    /// Runs `f` on `room`'s participants under its lock.
    pub fn with<R>(&self, room: &str, f: impl FnOnce(&mut ParticipantSet) -> R) -> Option<R> {
        self.changes.fetch_add(1, Ordering::Relaxed);
        let set = self.get(room)?;
        let mut guard = set.lock().unwrap_or_else(|e| e.into_inner());
        Some(f(&mut guard))
    }
}

//! All rooms of this node, keyed by name.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::Config;
use livekit_protocol as proto;

use super::{ParticipantEntry, Room};

/// Refreshes the participant and publisher counts from the map.
fn recount(r: &mut Room) {
    r.num_participants = u32::try_from(r.participants.len()).unwrap_or(u32::MAX);
    let publishers = r
        .participants
        .values()
        .filter(|p| !p.info.tracks.is_empty())
        .count();
    r.num_publishers = u32::try_from(publishers).unwrap_or(u32::MAX);
}

/// Unix time in milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The room defaults from `room:` in the config.
#[derive(Debug, Clone)]
pub struct RoomDefaults {
    pub auto_create: bool,
    pub empty_timeout: u32,
    pub departure_timeout: u32,
    pub max_participants: u32,
    pub enabled_codecs: Vec<(String, String)>,
}

/// What a creator may set; `None`/0 keeps the config default, as in
/// LiveKit's CreateRoom.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub empty_timeout: u32,
    pub departure_timeout: u32,
    pub max_participants: u32,
    pub metadata: String,
}

/// The shared state the sweeper also sees (through a `Weak`, so dropping
/// the registry stops the task).
#[derive(Debug)]
pub struct RegistryInner {
    rooms: RwLock<HashMap<String, Room>>,
    /// Bumped by every write (a hint for the handover snapshot).
    changes: AtomicU64,
    /// Told when rooms start and finish (set once by the server state).
    webhooks: std::sync::OnceLock<Arc<crate::webhook::Notifier>>,
}

impl RegistryInner {
    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, Room>> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.rooms.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, Room>> {
        self.changes.fetch_add(1, Ordering::Relaxed);
        self.rooms.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes and returns every room whose timeout has passed at `now_ms`.
    pub fn remove_expired(&self, now_ms: i64) -> Vec<Room> {
        let mut rooms = self.write();
        let names: Vec<String> = rooms
            .values()
            .filter(|r| r.expired(now_ms))
            .map(|r| r.name.clone())
            .collect();
        let closed: Vec<Room> = names.iter().filter_map(|n| rooms.remove(n)).collect();
        if let Some(w) = self.webhooks.get() {
            for r in &closed {
                w.room_finished(&r.to_proto(), proto::RoomEndReason::RoomEndIdleTimeout);
            }
        }
        closed
    }
}

/// All rooms of this node. Thread-safe; cheap operations under one lock.
#[derive(Debug)]
pub struct RoomRegistry {
    inner: Arc<RegistryInner>,
    defaults: RoomDefaults,
    sweeper_started: AtomicBool,
}

impl RoomRegistry {
    /// An empty registry with the config's room defaults. The empty-room
    /// sweeper starts with the first room, inside whatever tokio runtime
    /// creates it (the registry may be built before any runtime exists).
    pub fn new(config: &Config) -> Self {
        let r = &config.room;
        Self {
            inner: Arc::new(RegistryInner {
                rooms: RwLock::new(HashMap::new()),
                changes: AtomicU64::new(0),
                webhooks: std::sync::OnceLock::new(),
            }),
            defaults: RoomDefaults {
                auto_create: r.auto_create,
                empty_timeout: r.empty_timeout,
                departure_timeout: r.departure_timeout,
                max_participants: r.max_participants,
                enabled_codecs: r
                    .enabled_codecs
                    .iter()
                    .map(|c| (c.mime.clone(), c.fmtp_line.clone()))
                    .collect(),
            },
            sweeper_started: AtomicBool::new(false),
        }
    }

    /// Sends `room_started`/`room_finished` to `webhooks` from now on
    /// (only the first call has an effect).
    pub fn set_webhooks(&self, webhooks: Arc<crate::webhook::Notifier>) {
        let _ = self.inner.webhooks.set(webhooks);
    }

    /// The config defaults rooms are created with.
    pub fn defaults(&self) -> &RoomDefaults {
        &self.defaults
    }

    /// Creates `name`, or returns the existing room unchanged (LiveKit's
    /// CreateRoom is idempotent). The flag says whether it was created.
    pub fn create(&self, name: &str, opts: CreateOptions) -> (Room, bool) {
        self.create_at(name, opts, now_ms())
    }

    /// [`Self::create`] at an explicit time.
    pub fn create_at(&self, name: &str, opts: CreateOptions, now_ms: i64) -> (Room, bool) {
        self.ensure_sweeper();
        let mut rooms = self.inner.write();
        if let Some(existing) = rooms.get(name) {
            return (existing.clone(), false);
        }
        let pick = |v: u32, d: u32| if v > 0 { v } else { d };
        let d = &self.defaults;
        let mut room = Room {
            sid: crate::ids::room_sid(),
            name: name.to_string(),
            creation_time: now_ms / 1000,
            creation_time_ms: now_ms,
            empty_timeout: pick(opts.empty_timeout, d.empty_timeout),
            departure_timeout: pick(opts.departure_timeout, d.departure_timeout),
            max_participants: pick(opts.max_participants, d.max_participants),
            metadata: opts.metadata,
            enabled_codecs: d.enabled_codecs.clone(),
            version: Default::default(),
            num_participants: 0,
            num_publishers: 0,
            participants: Default::default(),
            last_left_ms: None,
        };
        room.bump_version(now_ms.saturating_mul(1000));
        rooms.insert(name.to_string(), room.clone());
        tracing::info!(room = %name, sid = %room.sid, "room created");
        if let Some(w) = self.inner.webhooks.get() {
            w.room_started(&room.to_proto());
        }
        (room, true)
    }

    /// Puts back a room a previous control plane had (handover): no
    /// `room_started`, it never stopped.
    pub fn restore(&self, room: Room) {
        self.ensure_sweeper();
        self.inner.write().insert(room.name.clone(), room);
    }

    /// How many writes so far.
    pub fn changes(&self) -> u64 {
        self.inner.changes.load(Ordering::Relaxed)
    }

    /// The room called `name`.
    pub fn get(&self, name: &str) -> Option<Room> {
        self.inner.read().get(name).cloned()
    }

    /// Whether `name` exists.
    pub fn exists(&self, name: &str) -> bool {
        self.inner.read().contains_key(name)
    }

    /// All rooms, or only those named in `names` when it is non-empty;
    /// sorted by name so listings are stable.
    pub fn list(&self, names: &[String]) -> Vec<Room> {
        let rooms = self.inner.read();
        let mut out: Vec<Room> = if names.is_empty() {
            rooms.values().cloned().collect()
        } else {
            names.iter().filter_map(|n| rooms.get(n).cloned()).collect()
        };
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|a, b| a.name == b.name);
        out
    }

    /// Removes `name`; `None` when it did not exist.
    pub fn delete(&self, name: &str) -> Option<Room> {
        let removed = self.inner.write().remove(name);
        if let Some(r) = &removed {
            tracing::info!(room = %name, sid = %r.sid, "room deleted");
            if let Some(w) = self.inner.webhooks.get() {
                w.room_finished(&r.to_proto(), proto::RoomEndReason::RoomEndApiDelete);
            }
        }
        removed
    }

    /// Replaces the metadata of `name` and bumps its version; the updated
    /// room, or `None` when it does not exist.
    pub fn update_metadata(&self, name: &str, metadata: &str) -> Option<Room> {
        let mut rooms = self.inner.write();
        let room = rooms.get_mut(name)?;
        room.metadata = metadata.to_string();
        room.bump_version(now_ms().saturating_mul(1000));
        Some(room.clone())
    }

    /// Runs `f` on the room `name` under the write lock (for participant
    /// bookkeeping by the signaling side).
    pub fn with_room_mut<T>(&self, name: &str, f: impl FnOnce(&mut Room) -> T) -> Option<T> {
        self.inner.write().get_mut(name).map(f)
    }

    /// Records that `entry` joined `room` (or replaces its entry): keeps the
    /// counts right and stops the room from timing out while occupied.
    /// `None` when the room does not exist.
    pub fn participant_joined(&self, room: &str, entry: ParticipantEntry) -> Option<()> {
        self.with_room_mut(room, |r| {
            r.participants.insert(entry.identity.clone(), entry);
            r.last_left_ms = None;
            recount(r);
        })
    }

    /// Records that `identity` left `room`; when it was the last one, the
    /// departure timeout starts now. Returns the removed entry.
    pub fn participant_left(&self, room: &str, identity: &str) -> Option<ParticipantEntry> {
        self.participant_left_at(room, identity, now_ms())
    }

    /// [`Self::participant_left`] at an explicit time.
    pub fn participant_left_at(
        &self,
        room: &str,
        identity: &str,
        now_ms: i64,
    ) -> Option<ParticipantEntry> {
        self.with_room_mut(room, |r| {
            let removed = r.participants.remove(identity);
            if removed.is_some() && r.participants.is_empty() {
                r.last_left_ms = Some(now_ms);
            }
            recount(r);
            removed
        })
        .flatten()
    }

    /// Closes every room expired at `now_ms` and returns them.
    pub fn remove_expired(&self, now_ms: i64) -> Vec<Room> {
        self.inner.remove_expired(now_ms)
    }

    /// Starts the background sweeper once, if a tokio runtime is running.
    fn ensure_sweeper(&self) {
        if self.sweeper_started.load(Ordering::Acquire) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self
            .sweeper_started
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            handle.spawn(super::sweep::sweep_loop(Arc::downgrade(&self.inner)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rooms::SWEEP_INTERVAL;

    fn reg() -> RoomRegistry {
        RoomRegistry::new(&Config::default())
    }

    #[test]
    fn create_uses_config_defaults_and_room_sid() {
        let r = reg();
        let (room, created) = r.create_at("a", CreateOptions::default(), 5_000);
        assert!(created);
        assert!(room.sid.starts_with("RM_"));
        assert_eq!(room.empty_timeout, 300);
        assert_eq!(room.departure_timeout, 20);
        assert_eq!(room.creation_time, 5);
        assert_eq!(room.creation_time_ms, 5_000);
        assert!(!room.enabled_codecs.is_empty());
    }

    #[test]
    fn create_is_idempotent() {
        let r = reg();
        let (a, _) = r.create("a", CreateOptions::default());
        let opts = CreateOptions {
            metadata: "x".into(),
            ..Default::default()
        };
        let (b, created) = r.create("a", opts);
        assert!(!created);
        assert_eq!(a.sid, b.sid);
        assert_eq!(b.metadata, "");
    }

    #[test]
    fn list_filters_by_name_and_delete_removes() {
        let r = reg();
        r.create("a", CreateOptions::default());
        r.create("b", CreateOptions::default());
        assert_eq!(r.list(&[]).len(), 2);
        let only_b = r.list(&["b".into(), "zz".into()]);
        assert_eq!(only_b.len(), 1);
        assert_eq!(only_b[0].name, "b");
        assert!(r.delete("a").is_some());
        assert!(r.delete("a").is_none());
        assert!(r.get("a").is_none());
    }

    #[test]
    fn update_metadata_bumps_version() {
        let r = reg();
        let (room, _) = r.create("a", CreateOptions::default());
        let updated = r.update_metadata("a", "meta").unwrap();
        assert_eq!(updated.metadata, "meta");
        assert!(updated.version != room.version);
        assert!(r.update_metadata("missing", "m").is_none());
    }

    #[test]
    fn remove_expired_closes_only_expired_rooms() {
        let r = reg();
        let short = CreateOptions {
            empty_timeout: 1,
            ..Default::default()
        };
        r.create_at("short", short, 0);
        r.create_at("long", CreateOptions::default(), 0);
        let closed = r.remove_expired(1_000);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].name, "short");
        assert!(r.exists("long"));
    }

    #[test]
    fn occupied_room_stays_and_departure_timer_starts_on_last_leave() {
        let r = reg();
        let opts = CreateOptions {
            empty_timeout: 1,
            departure_timeout: 2,
            ..Default::default()
        };
        r.create_at("a", opts, 0);
        let entry = ParticipantEntry {
            identity: "alice".into(),
            sid: crate::ids::participant_sid(),
            info: Default::default(),
        };
        r.participant_joined("a", entry).unwrap();
        assert_eq!(r.get("a").unwrap().num_participants, 1);
        assert!(r.remove_expired(60_000).is_empty());
        assert!(r.participant_left_at("a", "alice", 60_000).is_some());
        assert_eq!(r.get("a").unwrap().num_participants, 0);
        assert!(r.remove_expired(61_999).is_empty());
        assert_eq!(r.remove_expired(62_000).len(), 1);
    }

    #[tokio::test]
    async fn background_sweeper_closes_unjoined_room() {
        let r = reg();
        let opts = CreateOptions {
            empty_timeout: 1,
            ..Default::default()
        };
        // Created 2 s in the past by wall clock, so the first sweep closes it.
        r.create_at("old", opts, now_ms() - 2_000);
        // The first sweep runs at once; allow a few intervals of slack.
        for _ in 0..30 {
            if !r.exists("old") {
                break;
            }
            tokio::time::sleep(SWEEP_INTERVAL / 10).await;
        }
        assert!(!r.exists("old"));
    }
}

//! The raw baseline relay: a [`PacketHandler`] that copies each media
//! datagram, unchanged, to every subscriber of its room. No WebRTC, no
//! crypto, no rewriting: what the same io_uring workers cost when they do
//! nothing but fan out, so Ringcast's figures can be shown as a ratio to it.
//!
//! Wire format: every datagram starts with a [`HEADER_LEN`]-byte header,
//! `MAGIC, kind, room (u16 BE), count (u16 BE)`.
//! - `Subscribe`: registers the sender's address `count` times in `room`
//!   (one load-side socket stands for `count` subscribers; 0 removes it).
//!   The relay answers with an `Ack` carrying the same room and count.
//! - `Media`: the whole datagram (header included) goes to every
//!   registration of `room`, `count` copies per registered address.
//!
//! Registrations are rare, so they live in one shared [`Registry`] behind a
//! mutex with an atomic generation; each worker keeps an `Arc` of the latest
//! room table and takes the lock only when the generation moved. The
//! per-packet path takes no lock and allocates nothing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use ringcast_dataplane::driver::{PacketHandler, SendQueue};

/// First byte of every relay datagram (RTP starts 0x80..0xBF with version 2,
/// STUN with 0x00/0x01, DTLS 20..63: this is none of them on purpose).
pub const MAGIC: u8 = 0xC7;
/// Bytes of the relay header.
pub const HEADER_LEN: usize = 6;

/// What a datagram asks of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Register the sender `count` times in `room` (0 unregisters).
    Subscribe,
    /// Copy this datagram to every registration of `room`.
    Media,
    /// The relay's answer to `Subscribe`.
    Ack,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Kind::Subscribe => 1,
            Kind::Media => 2,
            Kind::Ack => 3,
        }
    }

    fn from_code(c: u8) -> Option<Kind> {
        match c {
            1 => Some(Kind::Subscribe),
            2 => Some(Kind::Media),
            3 => Some(Kind::Ack),
            _ => None,
        }
    }
}

/// The parsed relay header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub room: u16,
    /// Subscribe/Ack: registrations; Media: unused (0).
    pub count: u16,
}

impl Header {
    /// Parses the header at the start of `data`; `None` for anything that is
    /// not a relay datagram (short, wrong magic, unknown kind).
    #[must_use]
    pub fn parse(data: &[u8]) -> Option<Header> {
        let h = data.get(..HEADER_LEN)?;
        if h[0] != MAGIC {
            return None;
        }
        Some(Header {
            kind: Kind::from_code(h[1])?,
            room: u16::from_be_bytes([h[2], h[3]]),
            count: u16::from_be_bytes([h[4], h[5]]),
        })
    }

    /// Writes the header at the start of `out`; `None` if `out` is too short.
    pub fn write(&self, out: &mut [u8]) -> Option<()> {
        let h = out.get_mut(..HEADER_LEN)?;
        h[0] = MAGIC;
        h[1] = self.kind.code();
        h[2..4].copy_from_slice(&self.room.to_be_bytes());
        h[4..6].copy_from_slice(&self.count.to_be_bytes());
        Some(())
    }

    /// The header as bytes (for control datagrams that are only a header).
    #[must_use]
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        // HEADER_LEN bytes always hold the header.
        let _ = self.write(&mut b);
        b
    }
}

/// Room -> the addresses registered in it and how many copies each gets,
/// sorted by address so every worker sends in the same order.
pub type Rooms = HashMap<u16, Vec<(SocketAddr, u16)>>;

/// Everything registered, shared by all workers.
#[derive(Debug, Default)]
pub struct Registry {
    inner: Mutex<RegistryInner>,
    generation: AtomicU64,
}

#[derive(Debug, Default)]
struct RegistryInner {
    by_addr: HashMap<SocketAddr, (u16, u16)>,
    rooms: Arc<Rooms>,
}

impl Registry {
    /// An empty registry, shared.
    #[must_use]
    pub fn new() -> Arc<Registry> {
        Arc::new(Registry::default())
    }

    fn lock(&self) -> MutexGuard<'_, RegistryInner> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `addr` `count` times in `room` (replacing an earlier
    /// registration of that address; 0 removes it) and publishes a new room
    /// table. Returns the new generation.
    pub fn set(&self, addr: SocketAddr, room: u16, count: u16) -> u64 {
        let mut inner = self.lock();
        if count == 0 {
            inner.by_addr.remove(&addr);
        } else {
            inner.by_addr.insert(addr, (room, count));
        }
        let mut rooms = Rooms::new();
        for (a, (r, c)) in &inner.by_addr {
            rooms.entry(*r).or_default().push((*a, *c));
        }
        for list in rooms.values_mut() {
            list.sort_unstable();
        }
        inner.rooms = Arc::new(rooms);
        // Bumped under the lock, so a reader that sees generation g and then
        // locks finds a table at least as new as g.
        self.generation.fetch_add(1, Ordering::Release) + 1
    }

    /// The current generation (changes whenever the table does).
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current generation and room table.
    #[must_use]
    pub fn snapshot(&self) -> (u64, Arc<Rooms>) {
        let inner = self.lock();
        (self.generation(), inner.rooms.clone())
    }

    /// Registrations (copies per media packet) in `room` now.
    #[must_use]
    #[allow(dead_code)] // for tests: the relay itself never asks
    pub fn subscribers(&self, room: u16) -> u64 {
        let inner = self.lock();
        inner
            .rooms
            .get(&room)
            .map_or(0, |l| l.iter().map(|(_, c)| u64::from(*c)).sum())
    }
}

/// One worker's relay: a local view of the registry plus counters.
pub struct RelayHandler {
    registry: Arc<Registry>,
    generation: u64,
    rooms: Arc<Rooms>,
    /// Media datagrams received by this worker.
    pub media_in: u64,
    /// Copies queued (sent unless the send queue was full).
    pub copies_out: u64,
    /// Datagrams that were not relay datagrams.
    pub ignored: u64,
}

impl RelayHandler {
    /// A worker handler on the shared `registry`.
    #[must_use]
    pub fn new(registry: Arc<Registry>) -> RelayHandler {
        let (generation, rooms) = registry.snapshot();
        RelayHandler {
            registry,
            generation,
            rooms,
            media_in: 0,
            copies_out: 0,
            ignored: 0,
        }
    }

    /// Takes the registry's table if it changed since we last looked: one
    /// atomic load when it did not.
    fn refresh(&mut self) {
        if self.registry.generation() != self.generation {
            let (g, rooms) = self.registry.snapshot();
            self.generation = g;
            self.rooms = rooms;
        }
    }
}

impl PacketHandler for RelayHandler {
    fn on_datagram(
        &mut self,
        _now: Instant,
        from: SocketAddr,
        _local: SocketAddr,
        data: &mut [u8],
        out: &mut SendQueue,
    ) {
        let Some(h) = Header::parse(data) else {
            self.ignored += 1;
            return;
        };
        match h.kind {
            Kind::Media => {
                self.media_in += 1;
                self.refresh();
                if let Some(list) = self.rooms.get(&h.room) {
                    for (to, copies) in list {
                        for _ in 0..*copies {
                            out.push_copy(*to, data);
                        }
                        self.copies_out += u64::from(*copies);
                    }
                }
            }
            Kind::Subscribe => {
                self.registry.set(from, h.room, h.count);
                self.refresh();
                let ack = Header {
                    kind: Kind::Ack,
                    ..h
                };
                out.push_copy(from, &ack.to_bytes());
            }
            Kind::Ack => self.ignored += 1,
        }
    }

    fn on_tick(&mut self, _now: Instant, _out: &mut SendQueue) {
        self.refresh();
    }

    fn next_deadline(&self) -> Option<Instant> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_rejects_foreign_datagrams() {
        let h = Header {
            kind: Kind::Subscribe,
            room: 513,
            count: 40,
        };
        assert_eq!(Header::parse(&h.to_bytes()), Some(h));
        assert_eq!(Header::parse(&h.to_bytes()[..5]), None);
        assert_eq!(Header::parse(&[0x80, 1, 0, 0, 0, 1]), None);
        assert_eq!(Header::parse(&[MAGIC, 9, 0, 0, 0, 1]), None);
    }

    #[test]
    fn registry_replaces_and_removes_by_address() {
        let r = Registry::new();
        let a: SocketAddr = "127.0.0.1:1000".parse().expect("literal");
        let g1 = r.set(a, 1, 5);
        assert_eq!(r.subscribers(1), 5);
        let g2 = r.set(a, 1, 3);
        assert!(g2 > g1);
        assert_eq!(r.subscribers(1), 3);
        r.set(a, 1, 0);
        assert_eq!(r.subscribers(1), 0);
    }
}

//! Per-worker counters in the shared-memory region, so the control plane can
//! export dataplane metrics without importing the dataplane crate.
//!
//! Each worker owns one [`WorkerStatsBlock`]: a fixed array of `AtomicU64`
//! indexed by [`WorkerStat`]. The worker is the only writer and publishes
//! whole values with relaxed stores (it keeps the real counters locally and
//! copies them every so often); the control plane reads them with relaxed
//! loads when it is scraped. Values are monotonic counters, so a reader that
//! sees one field a little older than another only renders a slightly stale
//! sample, never a wrong one.
//!
//! Adding a stat: append a variant before the end of [`WorkerStat::ALL`] and
//! give it a name; there are [`STAT_SLOTS`] slots, so indices below that need
//! no layout change (and no records version bump).

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Slots reserved per worker. More than the stats defined today so new
/// counters fit without changing the region layout.
pub const STAT_SLOTS: usize = 48;

/// One counter of one worker; the discriminant is its slot index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum WorkerStat {
    /// Datagrams received.
    PacketsIn = 0,
    /// Bytes received.
    BytesIn = 1,
    /// Datagrams sent.
    PacketsOut = 2,
    /// Bytes sent.
    BytesOut = 3,
    /// Loop turns of the worker's driver.
    LoopTurns = 4,
    /// Datagrams dropped because the send queue was full.
    SendQueueDrops = 5,
    /// Receive errors reported by the socket.
    RecvErrors = 6,
    /// Send errors reported by the socket.
    SendErrors = 7,
    /// STUN whose USERNAME names no transport of this worker.
    StunUnknownUfrag = 8,
    /// STUN refused by a transport (integrity, malformed, wrong ufrag).
    StunRejected = 9,
    /// DTLS/RTP/RTCP from an address that never passed an ICE check.
    UnboundDropped = 10,
    /// RTP/RTCP from a bound address that was not forwarded.
    MediaIgnored = 11,
    /// Datagrams that are neither STUN, DTLS nor RTP/RTCP.
    UnknownDropped = 12,
    /// AddTransport commands refused.
    AddRefused = 13,
    /// Events dropped because the event ring and the backlog were full.
    EventsDropped = 14,
    /// Transports the worker currently holds (a gauge, not a counter).
    Transports = 15,
    RtpIn = 16,
    Forwarded = 17,
    ForwardedBytes = 18,
    Retransmits = 19,
    NackIn = 20,
    NackMiss = 21,
    PliIn = 22,
    PliOut = 23,
    CrossOut = 24,
    CrossIn = 25,
    CrossFull = 26,
    SrtpFailed = 27,
    SrtpReplayed = 28,
    NackOut = 29,
    RtxIn = 30,
    RtpMalformed = 31,
    BusyTurns = 32,
    BusyNs = 33,
    TurnHist0 = 34,
    TurnHist1 = 35,
    TurnHist2 = 36,
    TurnHist3 = 37,
    TurnHist4 = 38,
    TurnHist5 = 39,
    TurnHist6 = 40,
    TurnHist7 = 41,
    /// Publisher losses we NACKed that arrived afterwards (RTX or resent on
    /// the media SSRC), and those given up after the bounded retries.
    NackRepaired = 42,
    NackGivenUp = 43,
}

impl WorkerStat {
    /// Every defined stat, in slot order.
    pub const ALL: [WorkerStat; 44] = [
        WorkerStat::PacketsIn,
        WorkerStat::BytesIn,
        WorkerStat::PacketsOut,
        WorkerStat::BytesOut,
        WorkerStat::LoopTurns,
        WorkerStat::SendQueueDrops,
        WorkerStat::RecvErrors,
        WorkerStat::SendErrors,
        WorkerStat::StunUnknownUfrag,
        WorkerStat::StunRejected,
        WorkerStat::UnboundDropped,
        WorkerStat::MediaIgnored,
        WorkerStat::UnknownDropped,
        WorkerStat::AddRefused,
        WorkerStat::EventsDropped,
        WorkerStat::Transports,
        WorkerStat::RtpIn,
        WorkerStat::Forwarded,
        WorkerStat::ForwardedBytes,
        WorkerStat::Retransmits,
        WorkerStat::NackIn,
        WorkerStat::NackMiss,
        WorkerStat::PliIn,
        WorkerStat::PliOut,
        WorkerStat::CrossOut,
        WorkerStat::CrossIn,
        WorkerStat::CrossFull,
        WorkerStat::SrtpFailed,
        WorkerStat::SrtpReplayed,
        WorkerStat::NackOut,
        WorkerStat::RtxIn,
        WorkerStat::RtpMalformed,
        WorkerStat::BusyTurns,
        WorkerStat::BusyNs,
        WorkerStat::TurnHist0,
        WorkerStat::TurnHist1,
        WorkerStat::TurnHist2,
        WorkerStat::TurnHist3,
        WorkerStat::TurnHist4,
        WorkerStat::TurnHist5,
        WorkerStat::TurnHist6,
        WorkerStat::TurnHist7,
        WorkerStat::NackRepaired,
        WorkerStat::NackGivenUp,
    ];

    /// The slot this stat lives in.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// A short snake_case name, for logs and debugging.
    pub const fn name(self) -> &'static str {
        match self {
            WorkerStat::PacketsIn => "packets_in",
            WorkerStat::BytesIn => "bytes_in",
            WorkerStat::PacketsOut => "packets_out",
            WorkerStat::BytesOut => "bytes_out",
            WorkerStat::LoopTurns => "loop_turns",
            WorkerStat::SendQueueDrops => "send_queue_drops",
            WorkerStat::RecvErrors => "recv_errors",
            WorkerStat::SendErrors => "send_errors",
            WorkerStat::StunUnknownUfrag => "stun_unknown_ufrag",
            WorkerStat::StunRejected => "stun_rejected",
            WorkerStat::UnboundDropped => "unbound_dropped",
            WorkerStat::MediaIgnored => "media_ignored",
            WorkerStat::UnknownDropped => "unknown_dropped",
            WorkerStat::AddRefused => "add_refused",
            WorkerStat::EventsDropped => "events_dropped",
            WorkerStat::Transports => "transports",
            WorkerStat::RtpIn => "rtp_in",
            WorkerStat::Forwarded => "forwarded",
            WorkerStat::ForwardedBytes => "forwarded_bytes",
            WorkerStat::Retransmits => "retransmits",
            WorkerStat::NackIn => "nack_in",
            WorkerStat::NackMiss => "nack_miss",
            WorkerStat::PliIn => "pli_in",
            WorkerStat::PliOut => "pli_out",
            WorkerStat::CrossOut => "cross_out",
            WorkerStat::CrossIn => "cross_in",
            WorkerStat::CrossFull => "cross_full",
            WorkerStat::SrtpFailed => "srtp_failed",
            WorkerStat::SrtpReplayed => "srtp_replayed",
            WorkerStat::NackOut => "nack_out",
            WorkerStat::RtxIn => "rtx_in",
            WorkerStat::RtpMalformed => "rtp_malformed",
            WorkerStat::BusyTurns => "busy_turns",
            WorkerStat::BusyNs => "busy_ns",
            WorkerStat::TurnHist0 => "turn_hist_0",
            WorkerStat::TurnHist1 => "turn_hist_1",
            WorkerStat::TurnHist2 => "turn_hist_2",
            WorkerStat::TurnHist3 => "turn_hist_3",
            WorkerStat::TurnHist4 => "turn_hist_4",
            WorkerStat::TurnHist5 => "turn_hist_5",
            WorkerStat::TurnHist6 => "turn_hist_6",
            WorkerStat::TurnHist7 => "turn_hist_7",
            WorkerStat::NackRepaired => "nack_repaired",
            WorkerStat::NackGivenUp => "nack_given_up",
        }
    }
}

const _: () = assert!(WorkerStat::ALL.len() <= STAT_SLOTS);

/// The shared-memory layout of one worker's counters: whole cache lines, so
/// two workers never write the same line.
#[repr(C, align(64))]
pub struct WorkerStatsBlock {
    values: [AtomicU64; STAT_SLOTS],
}

/// Bytes one [`WorkerStatsBlock`] occupies in the region.
pub const STATS_BLOCK_BYTES: usize = std::mem::size_of::<WorkerStatsBlock>();

const _: () = assert!(STATS_BLOCK_BYTES.is_multiple_of(64));

impl WorkerStatsBlock {
    /// Stores `value` (relaxed): the single writer publishes a whole value.
    #[inline]
    pub fn set(&self, stat: WorkerStat, value: u64) {
        self.values[stat.index()].store(value, Ordering::Relaxed);
    }

    /// Reads one stat (relaxed).
    #[inline]
    pub fn get(&self, stat: WorkerStat) -> u64 {
        self.values[stat.index()].load(Ordering::Relaxed)
    }

    /// Every defined stat at (about) one moment.
    pub fn snapshot(&self) -> WorkerStatsSnapshot {
        let mut values = [0; STAT_SLOTS];
        for (out, slot) in values.iter_mut().zip(self.values.iter()) {
            *out = slot.load(Ordering::Relaxed);
        }
        WorkerStatsSnapshot { values }
    }
}

/// A plain copy of one worker's block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerStatsSnapshot {
    values: [u64; STAT_SLOTS],
}

impl Default for WorkerStatsSnapshot {
    fn default() -> Self {
        Self {
            values: [0; STAT_SLOTS],
        }
    }
}

impl WorkerStatsSnapshot {
    /// The value of `stat`.
    pub fn get(&self, stat: WorkerStat) -> u64 {
        self.values[stat.index()]
    }

    /// Sets `stat` (for building snapshots in tests and tools).
    pub fn set(&mut self, stat: WorkerStat, value: u64) {
        self.values[stat.index()] = value;
    }
}

/// A worker's handle on its own block; keeps the mapping alive, so the
/// worker thread can hold it for as long as it runs.
pub struct WorkerStatsSlot {
    block: *const WorkerStatsBlock,
    _owner: Arc<dyn Any + Send + Sync>,
}

// SAFETY: the block is only touched through atomics, and `_owner` keeps the
// memory mapped for as long as the handle exists.
unsafe impl Send for WorkerStatsSlot {}
// SAFETY: as above.
unsafe impl Sync for WorkerStatsSlot {}

impl WorkerStatsSlot {
    /// Wraps a block that `owner` keeps alive.
    ///
    /// # Safety
    /// `block` must point to an initialised (zeroed is fine), 64-byte aligned
    /// [`WorkerStatsBlock`] that stays valid while `owner` lives.
    pub unsafe fn from_raw(
        block: *const WorkerStatsBlock,
        owner: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        Self {
            block,
            _owner: owner,
        }
    }

    /// A block on the heap, for tests and for workers without a region.
    pub fn detached() -> Self {
        let owner = Arc::new(WorkerStatsBlock {
            values: std::array::from_fn(|_| AtomicU64::new(0)),
        });
        let block: *const WorkerStatsBlock = Arc::as_ptr(&owner);
        Self {
            block,
            _owner: owner,
        }
    }

    /// The block.
    pub fn block(&self) -> &WorkerStatsBlock {
        // SAFETY: valid for as long as `_owner`, per `from_raw`'s contract.
        unsafe { &*self.block }
    }
}

impl std::fmt::Debug for WorkerStatsSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerStatsSlot")
            .field("snapshot", &self.block().snapshot())
            .finish()
    }
}

/// Depth and refusals of one ring, read from its header without taking an
/// end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RingStats {
    /// Slots in the ring.
    pub capacity: u64,
    /// Items queued at the moment of reading.
    pub len: u64,
    /// Pushes refused because the ring was full, since it was created.
    pub full_rejections: u64,
}

/// The turn busy-time histogram's buckets, in order (upper bounds in µs are
/// the dataplane's `TURN_BUCKETS_US`, then +Inf).
pub const TURN_HIST: [WorkerStat; 8] = [
    WorkerStat::TurnHist0,
    WorkerStat::TurnHist1,
    WorkerStat::TurnHist2,
    WorkerStat::TurnHist3,
    WorkerStat::TurnHist4,
    WorkerStat::TurnHist5,
    WorkerStat::TurnHist6,
    WorkerStat::TurnHist7,
];

/// Upper bounds (µs) of the first seven [`TURN_HIST`] buckets.
pub const TURN_BUCKETS_US: [u64; 7] = [25, 50, 100, 250, 500, 1000, 5000];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stat_has_its_own_slot_in_order() {
        for (i, s) in WorkerStat::ALL.iter().enumerate() {
            assert_eq!(s.index(), i, "{}", s.name());
        }
    }

    #[test]
    fn detached_slot_round_trips_values() {
        let slot = WorkerStatsSlot::detached();
        slot.block().set(WorkerStat::PacketsIn, 7);
        slot.block().set(WorkerStat::EventsDropped, 3);
        let snap = slot.block().snapshot();
        assert_eq!(snap.get(WorkerStat::PacketsIn), 7);
        assert_eq!(snap.get(WorkerStat::EventsDropped), 3);
        assert_eq!(snap.get(WorkerStat::BytesIn), 0);
    }
}

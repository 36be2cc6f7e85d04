//! What happened to data packets in the control plane, for `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why a data packet (or one copy of it for one recipient) was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Not a `DataPacket` (bad protobuf).
    Malformed,
    /// The sender lacks `canPublishData`.
    NoPermission,
    /// A reliable packet whose sequence is not above the sender's last one.
    StaleSequence,
    /// A `_data_track` frame (data tracks are not forwarded).
    DataTrack,
    /// `metrics`/`transcription` from a participant that is not an agent.
    NotForwarded,
    /// Larger than a data record carries.
    TooLarge,
    /// The sending transport or participant is unknown (already gone).
    UnknownSender,
    /// A record with a kind byte this build does not know.
    UnknownKind,
    /// The recipient has no transport to carry it.
    NoTransport,
    /// A lossy packet for a recipient that is not ACTIVE yet (§5.9).
    NotActive,
    /// The worker's data-out ring and our backlog for it were full.
    RingFull,
}

impl DropReason {
    /// Every reason, in the order metrics list them.
    pub const ALL: [DropReason; 11] = [
        DropReason::Malformed,
        DropReason::NoPermission,
        DropReason::StaleSequence,
        DropReason::DataTrack,
        DropReason::NotForwarded,
        DropReason::TooLarge,
        DropReason::UnknownSender,
        DropReason::UnknownKind,
        DropReason::NoTransport,
        DropReason::NotActive,
        DropReason::RingFull,
    ];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::NoPermission => "no_permission",
            DropReason::StaleSequence => "stale_sequence",
            DropReason::DataTrack => "data_track",
            DropReason::NotForwarded => "not_forwarded",
            DropReason::TooLarge => "too_large",
            DropReason::UnknownSender => "unknown_sender",
            DropReason::UnknownKind => "unknown_kind",
            DropReason::NoTransport => "no_transport",
            DropReason::NotActive => "not_active",
            DropReason::RingFull => "ring_full",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Counters that only grow; read with relaxed loads by a scrape.
#[derive(Debug, Default)]
pub struct DataCounters {
    /// Packets received from participants' data channels.
    pub packets_in: AtomicU64,
    pub bytes_in: AtomicU64,
    /// Copies handed to the dataplane for recipients (one per recipient).
    pub packets_out: AtomicU64,
    pub bytes_out: AtomicU64,
    /// Packets sent through RoomService SendData.
    pub server_packets: AtomicU64,
    dropped: [AtomicU64; DropReason::ALL.len()],
}

/// A copy of [`DataCounters`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DataCountersSnapshot {
    pub packets_in: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub bytes_out: u64,
    pub server_packets: u64,
    /// `(reason, count)` for every reason.
    pub dropped: Vec<(DropReason, u64)>,
}

impl DataCounters {
    pub fn drop(&self, reason: DropReason) {
        if let Some(c) = self.dropped.get(reason.index()) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped
            .get(reason.index())
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    pub fn snapshot(&self) -> DataCountersSnapshot {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DataCountersSnapshot {
            packets_in: r(&self.packets_in),
            bytes_in: r(&self.bytes_in),
            packets_out: r(&self.packets_out),
            bytes_out: r(&self.bytes_out),
            server_packets: r(&self.server_packets),
            dropped: DropReason::ALL
                .iter()
                .map(|&d| (d, self.dropped(d)))
                .collect(),
        }
    }
}

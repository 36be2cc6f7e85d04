//! A worker's side of the data rings (LIVEKIT_PROTOCOL.md §5): messages
//! from clients' data channels go up to the control plane on the data-in
//! ring, and messages the control plane routed come back down on the
//! data-out ring to be sent on a local transport's channel.
//!
//! The worker does not decode `DataPacket`s or know rooms; it only moves
//! records. Every refusal is counted in [`DataCounters`].

use std::collections::VecDeque;
use std::time::Instant;

use ringcast_shared::data_ring::{ChannelKind, DataRecord};
use ringcast_shared::records::TransportId;
use ringcast_shared::ring::{Consumer, Producer};

use crate::sctp::channels::DataSendError;
use crate::transport::{TransportSet, TransportSink};

/// Data-out records handled per loop turn: a large message becomes ~50
/// datagrams, so this bounds one turn's sends well inside the send queue.
pub const DATA_OUT_PER_TURN: usize = 16;

/// Messages held while the data-in ring is full (a burst of reliable
/// messages faster than the control plane drains), and their byte bound.
/// Beyond either, messages are dropped and counted.
pub const DATA_IN_BACKLOG: usize = 512;
pub const DATA_IN_BACKLOG_BYTES: usize = 4 * 1024 * 1024;

/// What happened to data messages on this worker; every counter only grows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DataCounters {
    /// Messages handed to the control plane.
    pub in_forwarded: u64,
    /// Messages dropped because the data-in ring and the backlog were full.
    pub in_dropped_full: u64,
    /// Messages too large for a record (over 64 KiB).
    pub in_too_large: u64,
    /// Messages queued on a local transport's channel.
    pub out_sent: u64,
    /// Records for a transport this worker does not hold.
    pub out_unknown_transport: u64,
    /// Records whose channel is not open (or no SCTP association yet).
    pub out_not_open: u64,
    /// Records refused because the channel's send buffer was full.
    pub out_buffer_full: u64,
    /// Records with an unknown kind byte, or refused by SCTP.
    pub out_failed: u64,
}

/// Upward half: hands client messages to the control plane.
pub struct DataUp {
    ring: Producer<DataRecord>,
    /// The `in_*` counters.
    pub counters: DataCounters,
    backlog: VecDeque<(TransportId, ChannelKind, Vec<u8>)>,
    backlog_bytes: usize,
}

/// Downward half: takes routed messages and sends them.
pub struct DataDown {
    ring: Consumer<DataRecord>,
    /// The `out_*` counters.
    pub counters: DataCounters,
}

/// Both halves, split so the upward one can sit in the transport sink while
/// the downward one drives transports.
pub fn data_path(up: Producer<DataRecord>, down: Consumer<DataRecord>) -> (DataUp, DataDown) {
    (
        DataUp {
            ring: up,
            counters: DataCounters::default(),
            backlog: VecDeque::new(),
            backlog_bytes: 0,
        },
        DataDown {
            ring: down,
            counters: DataCounters::default(),
        },
    )
}

impl DataCounters {
    /// The upward counters of `up` with the downward ones of `down`.
    pub fn merged(up: &DataCounters, down: &DataCounters) -> DataCounters {
        DataCounters {
            in_forwarded: up.in_forwarded,
            in_dropped_full: up.in_dropped_full,
            in_too_large: up.in_too_large,
            ..*down
        }
    }
}

impl DataUp {
    /// A whole message from `from`'s channel of `kind`.
    pub fn deliver(&mut self, from: TransportId, kind: ChannelKind, payload: &[u8]) {
        let counters = &mut self.counters;
        let rec = match DataRecord::new(from, kind, payload) {
            Ok(r) => r,
            Err(_) => {
                counters.in_too_large += 1;
                return;
            }
        };
        if self.backlog.is_empty() && self.ring.try_push(rec).is_ok() {
            counters.in_forwarded += 1;
            return;
        }
        if self.backlog.len() >= DATA_IN_BACKLOG
            || self.backlog_bytes + payload.len() > DATA_IN_BACKLOG_BYTES
        {
            counters.in_dropped_full += 1;
            return;
        }
        self.backlog_bytes += payload.len();
        self.backlog.push_back((from, kind, payload.to_vec()));
    }

    /// Moves held messages into the ring while it has room (in order).
    pub fn flush(&mut self) {
        while let Some((from, kind, payload)) = self.backlog.front() {
            let Ok(rec) = DataRecord::new(*from, *kind, payload) else {
                // Checked on the way in; cannot happen, but never loop on it.
                self.backlog.pop_front();
                continue;
            };
            if self.ring.try_push(rec).is_err() {
                return;
            }
            self.counters.in_forwarded += 1;
            if let Some((_, _, p)) = self.backlog.pop_front() {
                self.backlog_bytes = self.backlog_bytes.saturating_sub(p.len());
            }
        }
    }
}

impl DataDown {
    /// Sends up to [`DATA_OUT_PER_TURN`] routed messages on local
    /// transports; returns how many records it took (all of them: the
    /// ring may hold more).
    pub fn pump(
        &mut self,
        now: Instant,
        transports: &mut TransportSet,
        sink: &mut dyn TransportSink,
    ) -> usize {
        let counters = &mut self.counters;
        for taken in 0..DATA_OUT_PER_TURN {
            let Some(rec) = self.ring.try_pop() else {
                return taken;
            };
            let Some(kind) = rec.kind() else {
                counters.out_failed += 1;
                continue;
            };
            let Some(t) = transports.get_mut(rec.transport()) else {
                counters.out_unknown_transport += 1;
                continue;
            };
            match t.send_data(now, kind, rec.payload(), sink) {
                Ok(()) => counters.out_sent += 1,
                Err(DataSendError::NoAssociation | DataSendError::ChannelNotOpen(_)) => {
                    counters.out_not_open += 1
                }
                Err(DataSendError::BufferFull(_)) => counters.out_buffer_full += 1,
                Err(e) => {
                    counters.out_failed += 1;
                    tracing::debug!(transport = rec.transport().0, error = %e, "data send failed");
                }
            }
            // SCTP may have armed a retransmission timer.
            transports.touch(rec.transport());
        }
        DATA_OUT_PER_TURN
    }
}

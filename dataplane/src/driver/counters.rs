//! Per-worker counters, written by the worker (relaxed) and read by metrics.
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one worker; every field is monotonic.
#[derive(Debug, Default)]
pub struct WorkerCounters {
    pub packets_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub packets_out: AtomicU64,
    pub bytes_out: AtomicU64,
    pub turns: AtomicU64,
    /// Datagrams the handler queued while the send queue was full (or too big).
    pub send_queue_drops: AtomicU64,
    pub recv_errors: AtomicU64,
    pub send_errors: AtomicU64,
    /// Turns that handled at least one datagram, and their busy time in ns
    /// (receive to the submit of the turn's sends: the most any packet of
    /// the turn waited inside the worker).
    pub busy_turns: AtomicU64,
    pub busy_ns: AtomicU64,
    /// Busy time of those turns by bucket, upper bounds [`TURN_BUCKETS_US`].
    pub turn_hist: [AtomicU64; TURN_BUCKETS_US.len() + 1],
}

/// Upper bounds (µs) of the turn busy-time histogram; the last bucket is +Inf.
pub use ringcast_shared::stats::TURN_BUCKETS_US;

/// A plain copy of [`WorkerCounters`] at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CounterSnapshot {
    pub packets_in: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub bytes_out: u64,
    pub turns: u64,
    pub send_queue_drops: u64,
    pub recv_errors: u64,
    pub send_errors: u64,
    pub busy_turns: u64,
    pub busy_ns: u64,
    pub turn_hist: [u64; TURN_BUCKETS_US.len() + 1],
}

impl WorkerCounters {
    /// Only the worker's own thread writes its counters (others only read
    /// them), so a plain load and store does: no locked read-modify-write
    /// on the per-datagram path (two per forwarded packet).
    pub(crate) fn add(field: &AtomicU64, n: u64) {
        field.store(
            field.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    /// Records one turn that handled `packets` datagrams in `busy`.
    pub(crate) fn record_turn(&self, busy: std::time::Duration, packets: u64) {
        if packets == 0 {
            return;
        }
        let us = busy.as_micros() as u64;
        let bucket = TURN_BUCKETS_US
            .iter()
            .position(|&b| us <= b)
            .unwrap_or(TURN_BUCKETS_US.len());
        Self::add(&self.busy_turns, 1);
        Self::add(&self.busy_ns, busy.as_nanos() as u64);
        if let Some(h) = self.turn_hist.get(bucket) {
            Self::add(h, 1);
        }
    }

    /// Reads all counters (relaxed; fields may be from slightly different instants).
    pub fn snapshot(&self) -> CounterSnapshot {
        let r = |f: &AtomicU64| f.load(Ordering::Relaxed);
        CounterSnapshot {
            packets_in: r(&self.packets_in),
            bytes_in: r(&self.bytes_in),
            packets_out: r(&self.packets_out),
            bytes_out: r(&self.bytes_out),
            turns: r(&self.turns),
            send_queue_drops: r(&self.send_queue_drops),
            recv_errors: r(&self.recv_errors),
            send_errors: r(&self.send_errors),
            busy_turns: r(&self.busy_turns),
            busy_ns: r(&self.busy_ns),
            turn_hist: std::array::from_fn(|i| r(&self.turn_hist[i])),
        }
    }
}

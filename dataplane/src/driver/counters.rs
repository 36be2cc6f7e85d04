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
}

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
}

impl WorkerCounters {
    pub(crate) fn add(field: &AtomicU64, n: u64) {
        field.fetch_add(n, Ordering::Relaxed);
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
        }
    }
}

//! The bounded hand-off between callers and delivery, and the counters a
//! metrics endpoint can read. A full queue drops the new event and counts
//! it: a slow receiver must never slow down signaling.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

/// Webhook counters. Deliveries count per URL: one event sent to two URLs
/// counts twice.
#[derive(Debug, Default)]
pub struct WebhookStats {
    /// Events taken into the queue.
    pub queued: AtomicU64,
    /// Deliveries a receiver answered with 2xx.
    pub delivered: AtomicU64,
    /// Deliveries given up: a final non-2xx answer, retries exhausted, or
    /// an event that could not be encoded.
    pub failed: AtomicU64,
    /// Events or deliveries dropped: queue full, or older than the maximum age.
    pub dropped: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub queued: u64,
    pub delivered: u64,
    pub failed: u64,
    pub dropped: u64,
}

impl WebhookStats {
    /// Reads all counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            queued: self.queued.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add_delivered(&self) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// The sending side of a bounded queue that never waits.
#[derive(Debug)]
pub(crate) struct BoundedQueue<T> {
    tx: mpsc::Sender<T>,
    stats: Arc<WebhookStats>,
}

impl<T> BoundedQueue<T> {
    /// A queue of `capacity` (at least 1) items and its receiver.
    pub(crate) fn new(capacity: usize, stats: Arc<WebhookStats>) -> (Self, mpsc::Receiver<T>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Self { tx, stats }, rx)
    }

    /// Queues `item`, or drops it and counts the drop when the queue is
    /// full or its receiver is gone. Returns whether it was queued.
    pub(crate) fn push(&self, item: T) -> bool {
        match self.tx.try_send(item) {
            Ok(()) => true,
            Err(_) => {
                self.stats.add_dropped();
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queue_drops_and_counts() {
        let stats = Arc::new(WebhookStats::default());
        let (q, mut rx) = BoundedQueue::new(2, stats.clone());
        assert!(q.push(1));
        assert!(q.push(2));
        assert!(!q.push(3));
        assert_eq!(stats.snapshot().dropped, 1);
        assert_eq!(rx.try_recv().ok(), Some(1));
        assert!(q.push(4));
        assert_eq!(stats.snapshot().dropped, 1);
    }

    #[test]
    fn closed_queue_drops() {
        let stats = Arc::new(WebhookStats::default());
        let (q, rx) = BoundedQueue::new(2, stats.clone());
        drop(rx);
        assert!(!q.push(1));
        assert_eq!(stats.snapshot().dropped, 1);
    }
}

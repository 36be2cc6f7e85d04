//! What a subscriber records about the packets it receives, and the
//! measured window they are judged against.
//!
//! A packet belongs to the window when its send stamp does, so a packet
//! sent just before the end and received just after still counts, and
//! nothing sent during joins or the drain does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::payload::Stamp;

/// The measured window, in `CLOCK_MONOTONIC` nanoseconds, shared by all
/// participants. Both ends start "never" (`u64::MAX`): until the start is
/// set nothing counts; until the end is set the window is open.
#[derive(Debug)]
pub struct Window {
    start_ns: AtomicU64,
    end_ns: AtomicU64,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            start_ns: AtomicU64::new(u64::MAX),
            end_ns: AtomicU64::new(u64::MAX),
        }
    }
}

impl Window {
    /// Opens the window at `now_ns`.
    pub fn open(&self, now_ns: u64) {
        self.start_ns.store(now_ns, Ordering::Release);
    }

    /// Closes the window at `now_ns`.
    pub fn close(&self, now_ns: u64) {
        self.end_ns.store(now_ns, Ordering::Release);
    }

    /// Whether a packet sent at `sent_ns` is measured.
    #[must_use]
    pub fn contains(&self, sent_ns: u64) -> bool {
        let start = self.start_ns.load(Ordering::Acquire);
        start != u64::MAX && sent_ns >= start && sent_ns < self.end_ns.load(Ordering::Acquire)
    }

    /// The window length in seconds, once closed.
    #[must_use]
    pub fn seconds(&self) -> f64 {
        let (s, e) = (
            self.start_ns.load(Ordering::Acquire),
            self.end_ns.load(Ordering::Acquire),
        );
        if s == u64::MAX || e == u64::MAX || e < s {
            0.0
        } else {
            (e - s) as f64 / 1e9
        }
    }
}

/// Bits of a stamp's `publisher` field that carry the simulcast layer
/// (0: a single stream; 1 `q`, 2 `h`, 3 `f`); the rest is the publisher's
/// index.
const LAYER_SHIFT: u32 = 28;

/// The stamp's stream id for layer `layer` of publisher `index`.
#[must_use]
pub fn stream_id(index: u32, layer: u8) -> u32 {
    (index & ((1 << LAYER_SHIFT) - 1)) | (u32::from(layer & 0x0f) << LAYER_SHIFT)
}

/// The publisher index and layer of a stream id.
#[must_use]
pub fn split_stream_id(id: u32) -> (u32, u8) {
    (id & ((1 << LAYER_SHIFT) - 1), (id >> LAYER_SHIFT) as u8)
}

/// One publisher's stream as one subscriber sees it: which sequence
/// numbers arrived (a bitmap, so duplicates are caught however late).
#[derive(Debug, Clone, Default)]
pub struct StreamRecv {
    seen: Vec<u64>,
    /// Distinct measured packets.
    pub received: u64,
    /// Measured packets that arrived more than once (each extra copy).
    pub duplicates: u64,
    /// Packets of this stream, measured or not (for readiness).
    pub any: u64,
    /// Measured packets that arrived after a later one (out of order).
    pub reordered: u64,
    highest: Option<u32>,
}

impl StreamRecv {
    /// Marks `seq`; returns false if it was already there.
    fn mark(&mut self, seq: u32) -> bool {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.seen.len() {
            self.seen.resize(word + 1, 0);
        }
        let fresh = self.seen[word] & (1 << bit) == 0;
        self.seen[word] |= 1 << bit;
        fresh
    }
}

/// Everything one subscriber recorded.
#[derive(Debug, Clone, Default)]
pub struct SubscriberStats {
    /// By stream id ([`stream_id`]: publisher index and simulcast layer).
    pub streams: HashMap<u32, StreamRecv>,
    /// One-way latency of each distinct measured packet, microseconds.
    pub latencies_us: Vec<u32>,
    /// RTP that carried no stamp (padding, probes, foreign payloads).
    pub unstamped: u64,
    /// Datagrams SRTP refused (authentication, replay).
    pub srtp_errors: u64,
}

impl SubscriberStats {
    /// Records one received packet's stamp at `recv_ns`.
    pub fn record(&mut self, stamp: Stamp, recv_ns: u64, window: &Window) {
        let s = self.streams.entry(stamp.publisher).or_default();
        s.any += 1;
        if !window.contains(stamp.sent_ns) {
            // Heard (it counts for readiness), not measured.
            return;
        }
        if s.mark(stamp.seq) {
            s.received += 1;
            match s.highest {
                Some(h) if stamp.seq < h => s.reordered += 1,
                _ => s.highest = Some(stamp.seq),
            }
            let us = recv_ns.saturating_sub(stamp.sent_ns) / 1000;
            self.latencies_us
                .push(u32::try_from(us).unwrap_or(u32::MAX));
        } else {
            s.duplicates += 1;
        }
    }

    /// How many distinct publishers were heard from at all (any layer).
    #[must_use]
    pub fn publishers_heard(&self) -> usize {
        let mut heard: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| s.any > 0)
            .map(|(&id, _)| split_stream_id(id).0)
            .collect();
        heard.sort_unstable();
        heard.dedup();
        heard.len()
    }

    /// Distinct measured packets over all streams.
    #[must_use]
    pub fn received(&self) -> u64 {
        self.streams.values().map(|s| s.received).sum()
    }

    /// Out-of-order measured packets over all streams.
    #[must_use]
    pub fn reordered(&self) -> u64 {
        self.streams.values().map(|s| s.reordered).sum()
    }

    /// Duplicate measured packets over all streams.
    #[must_use]
    pub fn duplicates(&self) -> u64 {
        self.streams.values().map(|s| s.duplicates).sum()
    }
}

/// The `q` quantile (0..=1) of sorted values, nearest-rank.
#[must_use]
pub fn quantile(sorted: &[u32], q: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

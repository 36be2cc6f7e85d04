//! The sequence numbers a publisher stream is missing and that we asked it
//! to resend (RFC 4585 generic NACK), until they arrive or we give up.
//!
//! One NACK is not enough: on a lossy path the NACK itself or the answer
//! (RTX, or the original packet again when RTX was not negotiated, as with
//! the LiveKit Rust/Python SDKs, which keep only the primary codec) is lost
//! as often as media is, and a packet the server never gets can be answered
//! to no subscriber: its decoder stalls until the next keyframe. So each
//! missing number is asked for again every retry interval, a few times, as
//! libwebrtc's NackRequester and LiveKit's NackQueue do.
//!
//! Sans-IO and allocation-free: the caller passes the time and gets the
//! `(pid, blp)` items to send; the list is a fixed array.

use std::time::{Duration, Instant};

/// Missing numbers remembered per stream (the longest gap we NACK).
pub const NACK_LIST_LEN: usize = 64;
/// How often one number is asked for at most: with the minimum interval
/// about half a second of asking, with the default about a second, as long
/// as libwebrtc's receivers keep NACKing (10 tries) and its senders keep
/// packets. Padding (which libwebrtc never resends) costs this many small
/// NACKs per lost packet.
pub const NACK_MAX_TRIES: u8 = 10;
/// The retry interval before any repair was timed (libwebrtc's default RTT).
pub const NACK_RETRY_DEFAULT: Duration = Duration::from_millis(100);
/// Bounds of the retry interval learnt from repair times. The floor keeps
/// a fast path (a LAN, loopback) from spending every try within a moment
/// the publisher is busy: its answers are late by scheduling, not by RTT.
pub const NACK_RETRY_MIN: Duration = Duration::from_millis(50);
pub const NACK_RETRY_MAX: Duration = Duration::from_millis(400);
/// FCI items one NACK packet carries at most (each covers 17 numbers).
pub const NACK_ITEMS: usize = 8;

#[derive(Debug, Clone, Copy)]
struct Entry {
    seq: u16,
    tries: u8,
    /// When it was last asked for (`None`: not yet).
    last: Option<Instant>,
    /// When it was first asked for (times the repair).
    first: Option<Instant>,
}

const EMPTY: Entry = Entry {
    seq: 0,
    tries: 0,
    last: None,
    first: None,
};

/// What [`NackList::poll`] produced.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NackPoll {
    /// FCI items written to the caller's slice.
    pub items: usize,
    /// Sequence numbers asked for in them.
    pub asked: u32,
    /// Numbers dropped after [`NACK_MAX_TRIES`] unanswered tries: lost for
    /// good, only a keyframe repairs the picture.
    pub gave_up: u32,
}

/// The missing numbers of one publisher stream, oldest first.
#[derive(Debug, Clone)]
pub struct NackList {
    entries: [Entry; NACK_LIST_LEN],
    len: usize,
    /// Smoothed time from a first NACK to its repair (RFC 6298 style).
    srtt: Option<Duration>,
}

impl Default for NackList {
    fn default() -> Self {
        Self::new()
    }
}

impl NackList {
    pub fn new() -> Self {
        Self {
            entries: [EMPTY; NACK_LIST_LEN],
            len: 0,
            srtt: None,
        }
    }

    /// Numbers waiting for a repair.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `seq` is waiting for a repair.
    pub fn contains(&self, seq: u16) -> bool {
        self.entries[..self.len].iter().any(|e| e.seq == seq)
    }

    /// The interval between two NACKs of one number.
    pub fn retry_interval(&self) -> Duration {
        match self.srtt {
            // Half again the repair time: a repair a little late is not
            // asked for twice.
            Some(rtt) => (rtt + rtt / 2).clamp(NACK_RETRY_MIN, NACK_RETRY_MAX),
            None => NACK_RETRY_DEFAULT,
        }
    }

    /// `count` numbers from `first` on are missing (a gap just seen). When
    /// the list is full the oldest are forgotten: they are the least likely
    /// to still be useful.
    pub fn add_gap(&mut self, first: u16, count: u16) {
        for k in 0..count {
            let seq = first.wrapping_add(k);
            if self.contains(seq) {
                continue;
            }
            if self.len == NACK_LIST_LEN {
                self.entries.copy_within(1.., 0);
                self.len -= 1;
            }
            self.entries[self.len] = Entry { seq, ..EMPTY };
            self.len += 1;
        }
    }

    /// `seq` arrived late (a repair, or reordering); returns whether it was
    /// waiting. A repair of a number asked for once times the round trip.
    pub fn arrived(&mut self, now: Instant, seq: u16) -> bool {
        let Some(i) = self.entries[..self.len].iter().position(|e| e.seq == seq) else {
            return false;
        };
        let e = self.entries[i];
        if let (1, Some(first)) = (e.tries, e.first) {
            let sample = now.saturating_duration_since(first);
            self.srtt = Some(match self.srtt {
                Some(s) => (s * 7 + sample) / 8,
                None => sample,
            });
        }
        self.entries.copy_within(i + 1..self.len, i);
        self.len -= 1;
        true
    }

    /// Forgets everything (the stream restarted: a jump in numbers).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The numbers due for a NACK now (never asked, or asked a retry
    /// interval ago), as `(pid, blp)` items in `out`; marks them asked and
    /// drops those asked [`NACK_MAX_TRIES`] times already.
    pub fn poll(&mut self, now: Instant, out: &mut [(u16, u16)]) -> NackPoll {
        let interval = self.retry_interval();
        let mut r = NackPoll::default();
        let mut kept = 0;
        for i in 0..self.len {
            let mut e = self.entries[i];
            let due = e
                .last
                .is_none_or(|t| now.saturating_duration_since(t) >= interval);
            if due && e.tries >= NACK_MAX_TRIES {
                r.gave_up += 1;
                continue;
            }
            if due && push_seq(out, &mut r.items, e.seq) {
                e.tries += 1;
                e.last = Some(now);
                e.first.get_or_insert(now);
                r.asked += 1;
            }
            self.entries[kept] = e;
            kept += 1;
        }
        self.len = kept;
        r
    }
}

/// Adds `seq` to the items: into the bitmap of the last item when it is
/// within 16 after its pid, else as a new item. False when `out` is full.
fn push_seq(out: &mut [(u16, u16)], n: &mut usize, seq: u16) -> bool {
    if let Some((pid, blp)) = n.checked_sub(1).and_then(|i| out.get_mut(i)) {
        let d = seq.wrapping_sub(*pid);
        if (1..=16).contains(&d) {
            *blp |= 1 << (d - 1);
            return true;
        }
    }
    match out.get_mut(*n) {
        Some(slot) => {
            *slot = (seq, 0);
            *n += 1;
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(items: &[(u16, u16)]) -> Vec<u16> {
        let mut v = Vec::new();
        for &(pid, blp) in items {
            v.push(pid);
            for b in 0..16 {
                if blp & (1 << b) != 0 {
                    v.push(pid.wrapping_add(b + 1));
                }
            }
        }
        v
    }

    #[test]
    fn a_gap_is_asked_at_once_then_again_each_interval_until_given_up() {
        let t0 = Instant::now();
        let mut l = NackList::new();
        l.add_gap(100, 2);
        let mut out = [(0, 0); NACK_ITEMS];
        let r = l.poll(t0, &mut out);
        assert_eq!(seqs(&out[..r.items]), [100, 101]);
        assert_eq!(r.asked, 2);
        // Not due again before the interval.
        let r = l.poll(t0 + Duration::from_millis(10), &mut out);
        assert_eq!(r, NackPoll::default());
        let mut t = t0;
        for _ in 1..NACK_MAX_TRIES {
            t += NACK_RETRY_DEFAULT;
            let r = l.poll(t, &mut out);
            assert_eq!(seqs(&out[..r.items]), [100, 101]);
        }
        t += NACK_RETRY_DEFAULT;
        let r = l.poll(t, &mut out);
        assert_eq!((r.items, r.gave_up), (0, 2));
        assert!(l.is_empty());
    }

    #[test]
    fn a_repair_stops_the_nacks_and_times_the_interval() {
        let t0 = Instant::now();
        let mut l = NackList::new();
        l.add_gap(7, 3);
        let mut out = [(0, 0); NACK_ITEMS];
        l.poll(t0, &mut out);
        assert!(l.arrived(t0 + Duration::from_millis(60), 8));
        assert!(!l.arrived(t0, 8), "only once");
        assert_eq!(l.retry_interval(), Duration::from_millis(90));
        let r = l.poll(t0 + Duration::from_millis(80), &mut out);
        assert_eq!(r.items, 0, "not due before 1.5x the repair time");
        let r = l.poll(t0 + Duration::from_millis(90), &mut out);
        assert_eq!(seqs(&out[..r.items]), [7, 9]);
    }

    #[test]
    fn a_fast_repair_does_not_shrink_the_interval_below_the_floor() {
        let t0 = Instant::now();
        let mut l = NackList::new();
        l.add_gap(1, 1);
        let mut out = [(0, 0); NACK_ITEMS];
        l.poll(t0, &mut out);
        assert!(l.arrived(t0 + Duration::from_millis(1), 1));
        assert_eq!(l.retry_interval(), NACK_RETRY_MIN);
    }

    #[test]
    fn wraps_and_splits_into_items_of_17() {
        let t0 = Instant::now();
        let mut l = NackList::new();
        l.add_gap(65530, 20);
        let mut out = [(0, 0); NACK_ITEMS];
        let r = l.poll(t0, &mut out);
        assert_eq!(r.items, 2);
        assert_eq!(out[0], (65530, 0xffff));
        assert_eq!(out[1], (65530u16.wrapping_add(17), 0b11));
    }

    #[test]
    fn a_full_list_forgets_the_oldest() {
        let mut l = NackList::new();
        l.add_gap(0, NACK_LIST_LEN as u16);
        l.add_gap(1000, 2);
        assert_eq!(l.len(), NACK_LIST_LEN);
        assert!(!l.contains(0) && !l.contains(1) && l.contains(2) && l.contains(1001));
    }

    #[test]
    fn items_that_do_not_fit_wait_for_the_next_poll() {
        let t0 = Instant::now();
        let mut l = NackList::new();
        // Every other number: one item per 17 covers 9 of them.
        for k in 0..40u16 {
            l.add_gap(k * 2, 1);
        }
        let mut out = [(0, 0); 2];
        let r = l.poll(t0, &mut out);
        assert_eq!(r.asked, 18);
        let r = l.poll(t0, &mut out);
        assert_eq!(r.asked, 18);
        assert_eq!(seqs(&out[..r.items])[0], 36);
    }
}

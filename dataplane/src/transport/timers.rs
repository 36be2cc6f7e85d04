//! The deadlines of one worker's transports, earliest first, so a loop turn
//! only touches the transports whose timer is due or whose state changed,
//! not every transport (the per-turn scan of every transport's
//! `poll_timeout` was ~7 % of the server's CPU in a 1 -> 500 audio profile:
//! `Transport::poll_timeout` ~5 %, SCTP's ~2 %).
//!
//! A binary heap of `(deadline, slot)` with lazy deletion: each slot
//! remembers the deadline it is scheduled at, and a heap entry whose
//! deadline is not the slot's current one is stale and skipped. A transport
//! whose state may have moved its timer is marked dirty ([`TimerQueue::touch`])
//! and re-asked for its deadline once, at the next flush. Stale entries are
//! bounded: the heap is rebuilt from the slots when it holds more than
//! twice the scheduled ones (plus [`SLACK`]).
//!
//! Nothing here reads the clock or calls a transport: [`super::TransportSet`]
//! drives it.
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::ice::TransportIndex;

/// Stale entries tolerated beyond twice the scheduled ones before a rebuild.
const SLACK: usize = 256;

/// Deadlines per transport slot; see the module docs.
#[derive(Debug, Default)]
pub struct TimerQueue {
    heap: BinaryHeap<Reverse<(Instant, TransportIndex)>>,
    /// Per slot: the deadline its live heap entry carries, and whether it
    /// is in `dirty`.
    scheduled: Vec<Option<Instant>>,
    is_dirty: Vec<bool>,
    dirty: Vec<TransportIndex>,
    live: usize,
}

impl TimerQueue {
    /// A queue for up to `slots` transports (grows if more slots appear).
    pub fn with_capacity(slots: usize) -> Self {
        Self {
            heap: BinaryHeap::with_capacity(slots.min(4096)),
            scheduled: Vec::with_capacity(slots),
            is_dirty: Vec::with_capacity(slots),
            dirty: Vec::with_capacity(slots),
            live: 0,
        }
    }

    fn ensure(&mut self, idx: TransportIndex) {
        let need = idx as usize + 1;
        if self.scheduled.len() < need {
            self.scheduled.resize(need, None);
            self.is_dirty.resize(need, false);
        }
    }

    /// Slot `idx`'s deadline may have changed: it is re-read at the next
    /// [`TimerQueue::take_dirty`]. Cheap enough for every packet.
    #[inline]
    pub fn touch(&mut self, idx: TransportIndex) {
        self.ensure(idx);
        let d = &mut self.is_dirty[idx as usize];
        if !*d {
            *d = true;
            self.dirty.push(idx);
        }
    }

    /// Moves the dirty slots into `out` (cleared first) and forgets them.
    pub fn take_dirty(&mut self, out: &mut Vec<TransportIndex>) {
        out.clear();
        for &i in &self.dirty {
            if let Some(d) = self.is_dirty.get_mut(i as usize) {
                *d = false;
            }
        }
        std::mem::swap(out, &mut self.dirty);
    }

    /// Slot `idx` is due at `at` from now on (`None`: no timer).
    pub fn schedule(&mut self, idx: TransportIndex, at: Option<Instant>) {
        self.ensure(idx);
        let cur = &mut self.scheduled[idx as usize];
        if *cur == at {
            return;
        }
        match (cur.is_some(), at.is_some()) {
            (false, true) => self.live += 1,
            (true, false) => self.live -= 1,
            _ => {}
        }
        *cur = at;
        if let Some(at) = at {
            self.heap.push(Reverse((at, idx)));
        }
        if self.heap.len() > 2 * self.live + SLACK {
            self.rebuild();
        }
    }

    /// The deadline slot `idx` is scheduled at.
    pub fn scheduled(&self, idx: TransportIndex) -> Option<Instant> {
        self.scheduled.get(idx as usize).copied().flatten()
    }

    fn is_live(&self, at: Instant, idx: TransportIndex) -> bool {
        self.scheduled.get(idx as usize).copied().flatten() == Some(at)
    }

    /// Moves every slot due at `now` into `out` (unscheduled: the caller
    /// runs its timer and schedules it again), earliest first.
    pub fn pop_due(&mut self, now: Instant, out: &mut Vec<TransportIndex>) {
        out.clear();
        while let Some(&Reverse((at, idx))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            if self.is_live(at, idx) {
                self.scheduled[idx as usize] = None;
                self.live -= 1;
                out.push(idx);
            }
        }
    }

    /// The earliest scheduled deadline (drops stale entries on top).
    pub fn earliest(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, idx))) = self.heap.peek() {
            if self.is_live(at, idx) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Heap entries, live and stale (for tests and the bound).
    pub fn heap_len(&self) -> usize {
        self.heap.len()
    }

    /// Slots with a deadline.
    pub fn live(&self) -> usize {
        self.live
    }

    fn rebuild(&mut self) {
        self.heap.clear();
        for (i, at) in self.scheduled.iter().enumerate() {
            if let Some(at) = at {
                self.heap.push(Reverse((*at, i as TransportIndex)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn due_slots_come_out_in_deadline_order_and_only_once() {
        let t0 = Instant::now();
        let mut q = TimerQueue::with_capacity(8);
        q.schedule(3, Some(ms(t0, 30)));
        q.schedule(1, Some(ms(t0, 10)));
        q.schedule(2, Some(ms(t0, 20)));
        q.schedule(4, Some(ms(t0, 50)));
        let mut due = Vec::new();
        q.pop_due(ms(t0, 30), &mut due);
        assert_eq!(due, vec![1, 2, 3]);
        q.pop_due(ms(t0, 30), &mut due);
        assert!(due.is_empty(), "popped slots are unscheduled");
        assert_eq!(q.earliest(), Some(ms(t0, 50)));
        assert_eq!(q.live(), 1);
    }

    #[test]
    fn a_moved_deadline_replaces_the_old_one() {
        let t0 = Instant::now();
        let mut q = TimerQueue::with_capacity(8);
        q.schedule(1, Some(ms(t0, 10)));
        q.schedule(1, Some(ms(t0, 40)));
        q.schedule(2, Some(ms(t0, 20)));
        let mut due = Vec::new();
        q.pop_due(ms(t0, 25), &mut due);
        assert_eq!(due, vec![2], "the stale 10 ms entry of slot 1 is skipped");
        assert_eq!(q.earliest(), Some(ms(t0, 40)));
        q.schedule(1, None);
        assert_eq!(q.earliest(), None);
        assert_eq!(q.live(), 0);
    }

    #[test]
    fn touched_slots_are_reported_once() {
        let mut q = TimerQueue::with_capacity(4);
        q.touch(2);
        q.touch(2);
        q.touch(9);
        let mut d = Vec::new();
        q.take_dirty(&mut d);
        assert_eq!(d, vec![2, 9]);
        q.take_dirty(&mut d);
        assert!(d.is_empty());
        q.touch(2);
        q.take_dirty(&mut d);
        assert_eq!(d, vec![2]);
    }

    /// Random reschedules against a plain model: every slot whose model
    /// deadline has passed comes out exactly once, in order, none is lost,
    /// and the heap stays bounded by the stale-entry rule.
    #[test]
    fn never_loses_a_slot_under_random_reschedules() {
        let t0 = Instant::now();
        let mut q = TimerQueue::with_capacity(64);
        let mut model: Vec<Option<Instant>> = vec![None; 64];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut now = t0;
        let mut due = Vec::new();
        for step in 0..20_000u64 {
            let idx = (rnd() % 64) as usize;
            let at = match rnd() % 4 {
                0 => None,
                _ => Some(now + Duration::from_micros(rnd() % 50_000)),
            };
            model[idx] = at;
            q.schedule(idx as TransportIndex, at);
            if step % 7 == 0 {
                now += Duration::from_micros(rnd() % 5_000);
                q.pop_due(now, &mut due);
                let mut want: Vec<(Instant, usize)> = model
                    .iter()
                    .enumerate()
                    .filter_map(|(i, a)| a.filter(|a| *a <= now).map(|a| (a, i)))
                    .collect();
                want.sort();
                let got: Vec<usize> = due.iter().map(|&i| i as usize).collect();
                let want_idx: Vec<usize> = want.iter().map(|&(_, i)| i).collect();
                assert_eq!(got, want_idx, "step {step}");
                for &(_, i) in &want {
                    model[i] = None;
                }
                let earliest = model.iter().flatten().min().copied();
                assert_eq!(q.earliest(), earliest, "step {step}");
            }
            assert!(q.heap_len() <= 2 * q.live() + SLACK + 1);
        }
    }
}

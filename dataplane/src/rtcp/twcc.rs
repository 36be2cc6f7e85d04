//! Transport-wide congestion control feedback (draft-holmer-rmcat-transport-
//! wide-cc-extensions-01 3.1), sent to publishers so their send-side
//! bandwidth estimate ramps up: without it a browser stays near its start
//! bitrate and never sends its top simulcast layer. Arrival times are kept
//! in a fixed array between feedback packets; building one allocates
//! nothing.

use std::time::{Duration, Instant};

use super::PT_RTPFB;

/// Arrivals kept between two feedback packets (at 100 ms and 2,000
/// packets/s that is 200; more are dropped and the gap reported lost).
pub const TWCC_CAPACITY: usize = 1024;
/// How often feedback is sent while packets arrive.
pub const TWCC_INTERVAL: Duration = Duration::from_millis(50);
/// Packets described by one feedback packet at most (keeps it < 1200 bytes).
const MAX_STATUS: u16 = 400;
/// 250 µs receive-delta ticks; 64 ms reference-time ticks.
const DELTA_US: i64 = 250;
const REF_US: i64 = 64_000;

/// Arrival times of one transport's packets by transport-wide sequence number.
pub struct TwccRecorder {
    epoch: Instant,
    seqs: Box<[u16; TWCC_CAPACITY]>,
    at_us: Box<[i64; TWCC_CAPACITY]>,
    len: usize,
    next_base: Option<u16>,
    fb_count: u8,
    media_ssrc: u32,
    last_sent: Option<Instant>,
}

impl TwccRecorder {
    pub fn new(now: Instant) -> Self {
        Self {
            epoch: now,
            seqs: Box::new([0; TWCC_CAPACITY]),
            at_us: Box::new([0; TWCC_CAPACITY]),
            len: 0,
            next_base: None,
            fb_count: 0,
            media_ssrc: 0,
            last_sent: None,
        }
    }

    /// A packet with transport-wide sequence number `seq` arrived.
    pub fn record(&mut self, seq: u16, media_ssrc: u32, now: Instant) {
        if self.len >= TWCC_CAPACITY {
            return;
        }
        self.seqs[self.len] = seq;
        self.at_us[self.len] = now.saturating_duration_since(self.epoch).as_micros() as i64;
        self.len += 1;
        self.media_ssrc = media_ssrc;
    }

    /// When feedback is due next, if anything arrived.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.len == 0 {
            return None;
        }
        Some(self.last_sent.map_or(self.epoch, |t| t + TWCC_INTERVAL))
    }

    /// Writes one feedback packet about the arrivals since the last one
    /// into `out`; returns its length (0 if there is nothing to report or
    /// `out` is too small).
    pub fn build(&mut self, now: Instant, sender_ssrc: u32, out: &mut [u8]) -> usize {
        self.last_sent = Some(now);
        let n = self.len;
        if n == 0 {
            return 0;
        }
        // Order by sequence number relative to the first arrival (wrap-safe).
        let pivot = self.next_base.unwrap_or(self.seqs[0]);
        let rel = |s: u16| s.wrapping_sub(pivot.wrapping_sub(0x4000));
        let mut order = [0u16; TWCC_CAPACITY];
        for (i, o) in order.iter_mut().take(n).enumerate() {
            *o = i as u16;
        }
        let seqs = &self.seqs;
        order[..n].sort_unstable_by_key(|&i| rel(seqs[usize::from(i)]));
        // The first arrival not already reported (late ones were reported lost).
        let fresh = |s: u16| self.next_base.is_none_or(|b| rel(s) >= rel(b));
        let Some(first_seq) = order[..n]
            .iter()
            .map(|&i| self.seqs[usize::from(i)])
            .find(|&s| fresh(s))
        else {
            self.len = 0;
            return 0;
        };
        // Continue from the last report unless a long gap makes that useless.
        let base = match self.next_base {
            Some(b) if first_seq.wrapping_sub(b) < MAX_STATUS / 2 => b,
            _ => first_seq,
        };
        let mut last_seq = base;
        let mut any = false;
        for &i in &order[..n] {
            let s = self.seqs[usize::from(i)];
            if rel(s) >= rel(base) && s.wrapping_sub(base) < MAX_STATUS {
                last_seq = s;
                any = true;
            }
        }
        self.len = 0;
        if !any {
            return 0;
        }
        let count = last_seq.wrapping_sub(base) + 1;
        // Reference time: the first reported arrival, in 64 ms ticks.
        let first_at = order[..n]
            .iter()
            .map(|&i| usize::from(i))
            .find(|&i| rel(self.seqs[i]) >= rel(base))
            .map(|i| self.at_us[i])
            .unwrap_or(0);
        let ref_ticks = first_at.div_euclid(REF_US);
        let chunks = usize::from(count).div_ceil(7);
        let head = 20;
        let deltas_at = head + 2 * chunks;
        if out.len() < deltas_at + 2 * usize::from(count) + 4 {
            return 0;
        }
        out[..deltas_at].fill(0);
        let mut prev_us = ref_ticks * REF_US;
        let mut d = deltas_at;
        let mut k = 0; // index into sorted arrivals
        for j in 0..count {
            let seq = base.wrapping_add(j);
            // Skip duplicates and stale ones before `seq`.
            while k < n && rel(self.seqs[usize::from(order[k])]) < rel(seq) {
                k += 1;
            }
            let symbol = if k < n && self.seqs[usize::from(order[k])] == seq {
                let at = self.at_us[usize::from(order[k])];
                let ticks = ((at - prev_us) as f64 / DELTA_US as f64).round() as i64;
                let ticks = ticks.clamp(i64::from(i16::MIN), i64::from(i16::MAX));
                prev_us += ticks * DELTA_US;
                k += 1;
                if (0..=255).contains(&ticks) {
                    out[d] = ticks as u8;
                    d += 1;
                    1u16
                } else {
                    out[d..d + 2].copy_from_slice(&(ticks as i16).to_be_bytes());
                    d += 2;
                    2u16
                }
            } else {
                0u16
            };
            // Two-bit status vector chunks, seven symbols each.
            let c = usize::from(j / 7);
            let slot = j % 7;
            let at = head + 2 * c;
            let mut chunk = u16::from_be_bytes([out[at], out[at + 1]]) | 0xC000;
            chunk |= symbol << (12 - 2 * slot);
            out[at..at + 2].copy_from_slice(&chunk.to_be_bytes());
        }
        self.next_base = Some(base.wrapping_add(count));
        let pad = (4 - d % 4) % 4;
        let total = d + pad;
        if pad > 0 {
            out[d..total].fill(0);
            out[total - 1] = pad as u8;
        }
        out[0] = 0x80 | if pad > 0 { 0x20 } else { 0 } | 15;
        out[1] = PT_RTPFB;
        out[2..4].copy_from_slice(&((total / 4 - 1) as u16).to_be_bytes());
        out[4..8].copy_from_slice(&sender_ssrc.to_be_bytes());
        out[8..12].copy_from_slice(&self.media_ssrc.to_be_bytes());
        out[12..14].copy_from_slice(&base.to_be_bytes());
        out[14..16].copy_from_slice(&count.to_be_bytes());
        let r = (ref_ticks as u32 & 0x00ff_ffff).to_be_bytes();
        out[16..19].copy_from_slice(&r[1..4]);
        out[19] = self.fb_count;
        self.fb_count = self.fb_count.wrapping_add(1);
        total
    }
}

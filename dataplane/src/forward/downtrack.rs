//! One subscriber's copy of one published stream: which source SSRC feeds
//! it and how that source's sequence numbers and timestamps map onto the
//! subscriber's continuous ones, across simulcast layer switches.

use std::time::Instant;

use ringcast_shared::records::{CodecId, DownTrackSpec, MediaKind, TransportId};

use super::cache::MAX_RESENDS;
use crate::rtp::RtpHeader;

/// Recent resends remembered per down-track (by outgoing sequence number).
const RESEND_SLOTS: usize = 64;

/// What to do with one source packet for one down-track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    /// Send it with this sequence number and timestamp.
    Forward { sequence: u16, timestamp: u32 },
    /// Not for this down-track (other SSRC or payload type, or an older
    /// layer after a switch).
    Skip,
    /// Video that cannot start here: a keyframe is needed first.
    NeedKeyframe,
}

/// A forwarded stream to one subscriber.
#[derive(Debug, Clone)]
pub struct DownTrack {
    pub source: TransportId,
    pub source_ssrc: u32,
    pub source_pt: u8,
    pub sink: TransportId,
    pub ssrc: u32,
    pub payload_type: u8,
    pub kind: MediaKind,
    pub codec: CodecId,
    /// A layer to switch to at its next keyframe.
    pub pending: Option<(u32, u8)>,
    started: bool,
    seq_offset: u16,
    ts_offset: u32,
    last_seq: u16,
    last_ts: u32,
    last_sent: Option<Instant>,
    /// The first outgoing sequence number of the current source: NACKs for
    /// earlier numbers refer to an older layer and are not answered.
    epoch_start: u16,
    pub packets: u64,
    pub bytes: u64,
    /// Where a removed down-track with the same sink and SSRC stopped.
    resume: Option<(u16, u32, Option<Instant>)>,
    /// (outgoing sequence number, times resent) of recent resends.
    resends: [(u16, u8); RESEND_SLOTS],
}

/// `a` is newer than `b` in 16-bit sequence space (RFC 3550 A.1).
pub fn seq_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

impl DownTrack {
    pub fn new(spec: &DownTrackSpec) -> Self {
        Self {
            source: spec.source,
            source_ssrc: spec.source_ssrc,
            source_pt: spec.source_pt,
            sink: spec.sink,
            ssrc: spec.ssrc,
            payload_type: spec.payload_type,
            kind: spec.kind,
            codec: spec.codec,
            pending: None,
            started: false,
            seq_offset: 0,
            ts_offset: 0,
            last_seq: 0,
            last_ts: 0,
            last_sent: None,
            epoch_start: 0,
            packets: 0,
            bytes: 0,
            resume: None,
            resends: [(0, 0); RESEND_SLOTS],
        }
    }

    /// Continue from an earlier down-track of the same sink and SSRC.
    pub fn resume_after(&mut self, last: (u16, u32, Option<Instant>)) {
        self.resume = Some(last);
    }

    /// Where this down-track stands (last sequence number and timestamp
    /// sent, and when), if it sent anything.
    pub fn position(&self) -> Option<(u16, u32, Option<Instant>)> {
        self.started
            .then_some((self.last_seq, self.last_ts, self.last_sent))
    }

    /// RTP clock rate of the stream (Opus and every video codec we carry).
    pub fn clock_rate(&self) -> u32 {
        match self.kind {
            MediaKind::Audio => 48_000,
            MediaKind::Video => 90_000,
        }
    }

    /// Whether packets of `ssrc` may feed this down-track.
    pub fn wants(&self, ssrc: u32) -> bool {
        self.source_ssrc == ssrc || self.pending.is_some_and(|(s, _)| s == ssrc)
    }

    /// Whether the first packet went out (video: a keyframe).
    pub fn started(&self) -> bool {
        self.started
    }

    /// Decides the fate of one source packet; `keyframe` says whether it
    /// starts a keyframe (always true for audio).
    pub fn map(&mut self, now: Instant, h: &RtpHeader, keyframe: bool) -> Mapping {
        if let Some((ssrc, pt)) = self.pending.filter(|(s, _)| *s == h.ssrc) {
            if !keyframe {
                return Mapping::NeedKeyframe;
            }
            self.source_ssrc = ssrc;
            self.source_pt = pt;
            self.pending = None;
            if self.started {
                let elapsed = self
                    .last_sent
                    .map(|t| now.saturating_duration_since(t).as_micros() as u64)
                    .unwrap_or(0);
                let gap = (elapsed * u64::from(self.clock_rate()) / 1_000_000).max(1) as u32;
                let next = self.last_seq.wrapping_add(1);
                self.seq_offset = next.wrapping_sub(h.sequence);
                self.ts_offset = self.last_ts.wrapping_add(gap).wrapping_sub(h.timestamp);
                self.epoch_start = next;
            }
        } else if h.ssrc != self.source_ssrc {
            return Mapping::Skip;
        }
        if h.payload_type != self.source_pt {
            return Mapping::Skip;
        }
        if !self.started {
            if matches!(self.kind, MediaKind::Video) && !keyframe {
                return Mapping::NeedKeyframe;
            }
            self.started = true;
            if let Some((last_seq, last_ts, last_sent)) = self.resume.take() {
                // Re-added after a pause: continue the numbers the
                // subscriber already has, or its SRTP replay window and
                // jitter buffer would drop what follows.
                let elapsed = last_sent
                    .map(|t| now.saturating_duration_since(t).as_micros() as u64)
                    .unwrap_or(0);
                let gap = (elapsed * u64::from(self.clock_rate()) / 1_000_000).max(1) as u32;
                let next = last_seq.wrapping_add(1);
                self.seq_offset = next.wrapping_sub(h.sequence);
                self.ts_offset = last_ts.wrapping_add(gap).wrapping_sub(h.timestamp);
            }
            self.epoch_start = h.sequence.wrapping_add(self.seq_offset);
            self.last_seq = self.epoch_start.wrapping_sub(1);
        }
        let sequence = h.sequence.wrapping_add(self.seq_offset);
        let timestamp = h.timestamp.wrapping_add(self.ts_offset);
        if seq_newer(sequence, self.last_seq) {
            self.last_seq = sequence;
            self.last_ts = timestamp;
            self.last_sent = Some(now);
        } else if seq_newer(self.epoch_start, sequence) {
            // Reordered from before this layer began: the subscriber never
            // expected it.
            return Mapping::Skip;
        }
        Mapping::Forward {
            sequence,
            timestamp,
        }
    }

    /// A source RTP timestamp on this down-track's timeline (for sender
    /// reports), once started.
    pub fn map_timestamp(&self, source_ts: u32) -> Option<u32> {
        self.started.then(|| source_ts.wrapping_add(self.ts_offset))
    }

    /// Counts one resend of `out_seq` to this subscriber; false once it was
    /// resent [`MAX_RESENDS`] times (nothing is counted then).
    pub fn allow_resend(&mut self, out_seq: u16) -> bool {
        let slot = &mut self.resends[usize::from(out_seq) % RESEND_SLOTS];
        if slot.0 != out_seq {
            *slot = (out_seq, 0);
        }
        if slot.1 >= MAX_RESENDS {
            return false;
        }
        slot.1 += 1;
        true
    }

    /// The source sequence number and timestamp offset behind an outgoing
    /// sequence number a subscriber NACKed, if it belongs to the current
    /// layer.
    pub fn source_seq(&self, out_seq: u16) -> Option<(u16, u16, u32)> {
        if !self.started
            || seq_newer(self.epoch_start, out_seq)
            || seq_newer(out_seq, self.last_seq)
        {
            return None;
        }
        Some((
            out_seq.wrapping_sub(self.seq_offset),
            self.seq_offset,
            self.ts_offset,
        ))
    }
}

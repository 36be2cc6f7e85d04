//! Per-transport link quality for connection-quality scoring: loss of the
//! media a peer sends us (from its sequence numbers) and the loss and jitter
//! it reports about the media we send it (from its receiver reports).
//! Summed per transport and reported once per
//! [`LINK_QUALITY_WINDOW_MS`](ringcast_shared::records::LINK_QUALITY_WINDOW_MS)
//! as `Event::LinkQuality`; the control plane turns that into
//! `ConnectionQualityUpdate`s.
//!
//! Sans-IO: the worker hands in decrypted packets and the time.

mod upstream;

pub use upstream::UpstreamStream;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ringcast_shared::records::{Event, TransportId, LINK_QUALITY_WINDOW_MS};

use crate::rtcp::{self, Feedback};

/// What [`LinkQualities::on_tick`] produces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QualityOutput {
    /// For the control plane.
    Event(Event),
    /// A receiver report to send (protected) on transport `.0`.
    Report(TransportId, rtcp::ReportBlock),
}

/// Publisher streams (SSRCs) followed per transport: three simulcast layers,
/// audio and a few spare; more are ignored (the scoring needs a sample, not
/// every stream).
const STREAMS_PER_LINK: usize = 8;
/// Transports followed at most per worker (one entry each).
const MAX_LINKS: usize = 16 * 1024;

const WINDOW: Duration = Duration::from_millis(LINK_QUALITY_WINDOW_MS);

#[derive(Debug, Default)]
struct Link {
    streams: [Option<UpstreamStream>; STREAMS_PER_LINK],
    /// Worst downstream loss (fraction of 256) and jitter (ms) this window.
    down_loss: u8,
    down_jitter_ms: u16,
    down_reports: u16,
    /// Anything seen this window.
    active: bool,
}

/// One worker's link-quality bookkeeping.
#[derive(Debug)]
pub struct LinkQualities {
    links: HashMap<TransportId, Link>,
    next_flush: Option<Instant>,
}

impl Default for LinkQualities {
    fn default() -> Self {
        Self::new()
    }
}

impl LinkQualities {
    pub fn new() -> Self {
        Self {
            links: HashMap::new(),
            next_flush: None,
        }
    }

    fn link(&mut self, id: TransportId) -> Option<&mut Link> {
        let full = self.links.len() >= MAX_LINKS;
        match self.links.entry(id) {
            std::collections::hash_map::Entry::Occupied(e) => Some(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(_) if full => None,
            std::collections::hash_map::Entry::Vacant(e) => Some(e.insert(Link::default())),
        }
    }

    /// A decrypted RTP packet from transport `id` (after RTX unwrapping, so
    /// a repaired loss counts as arrived).
    pub fn on_rtp(&mut self, id: TransportId, ssrc: u32, sequence: u16) {
        let Some(link) = self.link(id) else { return };
        link.active = true;
        let mut free = None;
        for (i, slot) in link.streams.iter_mut().enumerate() {
            match slot {
                Some(s) if s.ssrc() == ssrc => {
                    s.on_packet(sequence);
                    return;
                }
                None if free.is_none() => free = Some(i),
                _ => {}
            }
        }
        if let Some(slot) = free.and_then(|i| link.streams.get_mut(i)) {
            *slot = Some(UpstreamStream::new(ssrc, sequence));
        }
    }

    /// A decrypted RTCP compound packet from transport `id`: its report
    /// blocks about our streams. `clock_rate` gives the RTP clock of the
    /// stream a block is about (0 if not ours), to turn jitter into time.
    pub fn on_rtcp(
        &mut self,
        now: Instant,
        id: TransportId,
        pkt: &[u8],
        clock_rate: impl Fn(u32) -> u32,
    ) {
        // One walk over the compound packet (the forwarder walks it too, for
        // what changes forwarding): sender reports of the peer's streams
        // (for our receiver reports' LSR) and its reports about ours.
        let mut streams = self.links.get_mut(&id).map(|l| &mut l.streams);
        let mut worst_loss = 0u8;
        let mut worst_jitter_ms = 0u16;
        let mut n = 0u16;
        let _ = rtcp::for_each_feedback(pkt, |fb| match fb {
            Feedback::SenderReport { ssrc, ntp, .. } => {
                let found = streams
                    .as_deref_mut()
                    .and_then(|s| s.iter_mut().flatten().find(|s| s.ssrc() == ssrc));
                if let Some(s) = found {
                    // The middle 32 bits of the NTP time, as LSR echoes it.
                    s.on_sender_report((ntp >> 16) as u32, now);
                }
            }
            Feedback::ReceptionReport {
                ssrc,
                fraction_lost,
                jitter,
            } => {
                let rate = clock_rate(ssrc);
                if rate == 0 {
                    return;
                }
                n = n.saturating_add(1);
                worst_loss = worst_loss.max(fraction_lost);
                let ms = u64::from(jitter) * 1000 / u64::from(rate);
                worst_jitter_ms = worst_jitter_ms.max(ms.min(u64::from(u16::MAX)) as u16);
            }
            _ => {}
        });
        if n == 0 {
            return;
        }
        let Some(link) = self.link(id) else { return };
        link.active = true;
        link.down_reports = link.down_reports.saturating_add(n);
        link.down_loss = link.down_loss.max(worst_loss);
        link.down_jitter_ms = link.down_jitter_ms.max(worst_jitter_ms);
    }

    /// The transport is gone.
    pub fn forget(&mut self, id: TransportId) {
        self.links.remove(&id);
    }

    /// Once per loop turn: every [`WINDOW`], one `LinkQuality` per transport
    /// that had media and one receiver report per stream it sent us (so the
    /// publisher learns its loss and round trip), and the window starts
    /// over. Transports silent for a whole window are dropped (re-learned
    /// when media comes back).
    pub fn on_tick(&mut self, now: Instant, mut out: impl FnMut(QualityOutput)) {
        let due = *self.next_flush.get_or_insert(now + WINDOW);
        if now < due {
            return;
        }
        self.next_flush = Some(now + WINDOW);
        self.links.retain(|id, link| {
            if !link.active {
                return false;
            }
            let (mut expected, mut lost) = (0u32, 0u32);
            for s in link.streams.iter_mut().flatten() {
                let (e, l) = s.take_window();
                expected = expected.saturating_add(e);
                lost = lost.saturating_add(l);
                if e == 0 {
                    continue;
                }
                out(QualityOutput::Report(*id, s.report_block(now, e, l)));
            }
            out(QualityOutput::Event(Event::LinkQuality {
                id: *id,
                up_expected: expected,
                up_lost: lost,
                down_loss: link.down_loss,
                down_jitter_ms: link.down_jitter_ms,
                down_reports: link.down_reports,
            }));
            link.active = false;
            link.down_loss = 0;
            link.down_jitter_ms = 0;
            link.down_reports = 0;
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_active_transport_per_window_then_silent_ones_are_dropped() {
        let t0 = Instant::now();
        let mut q = LinkQualities::new();
        let mut events = Vec::new();
        let mut reports = Vec::new();
        let tick = |q: &mut LinkQualities,
                    at: Instant,
                    events: &mut Vec<Event>,
                    reports: &mut Vec<(TransportId, rtcp::ReportBlock)>| {
            q.on_tick(at, |o| match o {
                QualityOutput::Event(e) => events.push(e),
                QualityOutput::Report(id, b) => reports.push((id, b)),
            })
        };
        tick(&mut q, t0, &mut events, &mut reports);
        for seq in (0u16..100).filter(|s| s % 10 != 3) {
            q.on_rtp(TransportId(1), 42, seq);
        }
        // An RR from transport 2 about our video stream 9: 10% lost, 4.5 ms jitter.
        let mut rr = vec![0x81, 201, 0, 7, 0, 0, 0, 5, 0, 0, 0, 9, 26, 0, 0, 0];
        rr.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 149, 0, 0, 0, 0, 0, 0, 0, 0]);
        q.on_rtcp(
            t0,
            TransportId(2),
            &rr,
            |ssrc| if ssrc == 9 { 90_000 } else { 0 },
        );
        tick(&mut q, t0 + WINDOW / 2, &mut events, &mut reports);
        assert!(events.is_empty(), "nothing before the window ends");
        tick(&mut q, t0 + WINDOW, &mut events, &mut reports);
        assert_eq!(
            reports.len(),
            1,
            "one receiver report, for the stream transport 1 sent"
        );
        let (rid, b) = reports[0];
        assert_eq!(
            (rid, b.ssrc, b.cumulative_lost, b.highest_seq),
            (TransportId(1), 42, 10, 99)
        );
        assert_eq!(b.fraction_lost, 25); // 10 of 100
        events.sort_by_key(|e| match e {
            Event::LinkQuality { id, .. } => id.0,
            _ => u64::MAX,
        });
        assert_eq!(
            events,
            vec![
                Event::LinkQuality {
                    id: TransportId(1),
                    up_expected: 100,
                    up_lost: 10,
                    down_loss: 0,
                    down_jitter_ms: 0,
                    down_reports: 0,
                },
                Event::LinkQuality {
                    id: TransportId(2),
                    up_expected: 0,
                    up_lost: 0,
                    down_loss: 26,
                    down_jitter_ms: 4,
                    down_reports: 1,
                },
            ]
        );
        events.clear();
        tick(&mut q, t0 + WINDOW * 2, &mut events, &mut reports);
        assert!(events.is_empty(), "silent transports report nothing");
        assert!(q.links.is_empty());
    }
}

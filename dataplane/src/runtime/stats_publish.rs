//! Publishing a worker's counters into its shared-memory stats block, where
//! the control plane's metrics endpoint reads them.
//!
//! The worker keeps its real counters where they are cheapest to bump (plain
//! `u64`s in the transport set, relaxed atomics in the driver) and copies
//! them here on a timer from `on_tick`: a handful of relaxed stores every
//! [`PUBLISH_EVERY`], no locks, no allocation, nothing per packet.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ringcast_shared::stats::{WorkerStat, WorkerStatsSlot};

use crate::driver::WorkerCounters;
use crate::transport::TransportCounters;

/// How often counters are copied; a scrape sees values at most this old.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// The driver's counters of this worker. They are created by
/// `spawn_workers` after the handler, so they are handed over once the
/// workers run; until then only the worker's own counters are published.
pub type DriverCountersCell = Arc<OnceLock<Arc<WorkerCounters>>>;

/// One worker's publisher.
pub struct StatsPublisher {
    slot: WorkerStatsSlot,
    driver: DriverCountersCell,
    next: Option<Instant>,
}

/// What the worker itself counts, besides the driver.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoreCounters {
    pub transports: TransportCounters,
    pub forward: crate::forward::ForwardCounters,
    pub transports_live: u64,
    pub events_dropped: u64,
}

impl StatsPublisher {
    pub fn new(slot: WorkerStatsSlot, driver: DriverCountersCell) -> Self {
        Self {
            slot,
            driver,
            next: None,
        }
    }

    /// Copies the counters if [`PUBLISH_EVERY`] has passed since the last copy.
    pub fn maybe_publish(&mut self, now: Instant, core: &CoreCounters) {
        if self.next.is_some_and(|next| now < next) {
            return;
        }
        self.next = Some(now + PUBLISH_EVERY);
        self.publish(core);
    }

    /// Copies every counter now.
    pub fn publish(&self, core: &CoreCounters) {
        let b = self.slot.block();
        if let Some(d) = self.driver.get() {
            let d = d.snapshot();
            b.set(WorkerStat::PacketsIn, d.packets_in);
            b.set(WorkerStat::BytesIn, d.bytes_in);
            b.set(WorkerStat::PacketsOut, d.packets_out);
            b.set(WorkerStat::BytesOut, d.bytes_out);
            b.set(WorkerStat::LoopTurns, d.turns);
            b.set(WorkerStat::SendQueueDrops, d.send_queue_drops);
            b.set(WorkerStat::RecvErrors, d.recv_errors);
            b.set(WorkerStat::SendErrors, d.send_errors);
            b.set(WorkerStat::BusyTurns, d.busy_turns);
            b.set(WorkerStat::BusyNs, d.busy_ns);
            for (stat, v) in ringcast_shared::stats::TURN_HIST.iter().zip(d.turn_hist) {
                b.set(*stat, v);
            }
        }
        let t = &core.transports;
        b.set(WorkerStat::StunUnknownUfrag, t.stun_unknown_ufrag);
        b.set(WorkerStat::StunRejected, t.stun_rejected);
        b.set(WorkerStat::UnboundDropped, t.unbound_dropped);
        b.set(WorkerStat::MediaIgnored, t.media_ignored);
        b.set(WorkerStat::UnknownDropped, t.unknown_dropped);
        b.set(WorkerStat::AddRefused, t.add_refused);
        b.set(WorkerStat::EventsDropped, core.events_dropped);
        b.set(WorkerStat::Transports, core.transports_live);
        b.set(WorkerStat::SrtpFailed, t.srtp_failed);
        b.set(WorkerStat::SrtpReplayed, t.srtp_replayed);
        let f = &core.forward;
        b.set(WorkerStat::RtpIn, f.rtp_in);
        b.set(WorkerStat::Forwarded, f.forwarded);
        b.set(WorkerStat::ForwardedBytes, f.forwarded_bytes);
        b.set(WorkerStat::Retransmits, f.retransmits);
        b.set(WorkerStat::NackIn, f.nack_in);
        b.set(WorkerStat::NackMiss, f.nack_miss);
        b.set(WorkerStat::NackRepaired, f.nack_repaired);
        b.set(WorkerStat::NackGivenUp, f.nack_given_up);
        b.set(WorkerStat::PliIn, f.pli_in);
        b.set(WorkerStat::PliOut, f.pli_out);
        b.set(WorkerStat::CrossOut, f.cross_out);
        b.set(WorkerStat::CrossIn, f.cross_in);
        b.set(WorkerStat::CrossFull, f.cross_full);
        b.set(WorkerStat::NackOut, f.nack_out);
        b.set(WorkerStat::RtxIn, t.rtx_in);
        b.set(WorkerStat::RtpMalformed, f.rtp_malformed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    fn slot_and_reader() -> (WorkerStatsSlot, ringcast_shared::ring::ShmRegion) {
        let region = ringcast_shared::ring::ShmRegion::create(
            &ringcast_shared::ring::ShmBacking::Memfd("stats-publish".into()),
            1,
            4,
        )
        .expect("region");
        (region.worker_stats(0).expect("slot"), region)
    }

    #[test]
    fn publishes_driver_and_core_counters_into_the_region() {
        let (slot, region) = slot_and_reader();
        let cell: DriverCountersCell = Arc::default();
        let driver = Arc::new(WorkerCounters::default());
        driver.packets_in.store(9, Ordering::Relaxed);
        driver.turns.store(100, Ordering::Relaxed);
        let _ = cell.set(driver);
        let mut p = StatsPublisher::new(slot, cell);
        let mut core = CoreCounters::default();
        core.transports.stun_unknown_ufrag = 4;
        core.events_dropped = 2;
        p.maybe_publish(Instant::now(), &core);
        let s = region.read_worker_stats(0).expect("read");
        assert_eq!(s.get(WorkerStat::PacketsIn), 9);
        assert_eq!(s.get(WorkerStat::LoopTurns), 100);
        assert_eq!(s.get(WorkerStat::StunUnknownUfrag), 4);
        assert_eq!(s.get(WorkerStat::EventsDropped), 2);
    }

    #[test]
    fn copies_at_most_once_per_interval() {
        let (slot, region) = slot_and_reader();
        let mut p = StatsPublisher::new(slot, Arc::default());
        let t0 = Instant::now();
        let mut core = CoreCounters {
            events_dropped: 1,
            ..CoreCounters::default()
        };
        p.maybe_publish(t0, &core);
        core.events_dropped = 5;
        p.maybe_publish(t0 + PUBLISH_EVERY / 2, &core);
        let read = || {
            region
                .read_worker_stats(0)
                .expect("read")
                .get(WorkerStat::EventsDropped)
        };
        assert_eq!(read(), 1, "too early: not copied again");
        p.maybe_publish(t0 + PUBLISH_EVERY, &core);
        assert_eq!(read(), 5);
    }
}

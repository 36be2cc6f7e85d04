use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ringcast_shared::data_ring::{ChannelKind, DataRecord};
use ringcast_shared::records::{Command, Event, TransportId};
use ringcast_shared::ring::{Consumer, Producer};

use crate::demux::PacketKind;
use crate::driver::{DriverError, PacketHandler, SendQueue, Wake};
use crate::dtls::DtlsCertificate;
use crate::forward::{CrossKind, CrossPacket, ForwardCounters, Forwarder};
use crate::quality::{LinkQualities, QualityOutput};
use crate::rtcp;
use crate::transport::{TransportCounters, TransportSet, TransportSink};
use ringcast_shared::records::MediaKind;

use super::data_path::{data_path, DataCounters, DataDown, DataUp};
use super::stats_publish::{CoreCounters, StatsPublisher};

/// Most commands applied per loop turn, so a burst of joins cannot starve
/// the packets already waiting.
const COMMANDS_PER_TURN: usize = 256;
/// Events kept while the event ring is full; beyond this they are dropped
/// and counted (the control plane reconciles by timeouts).
const EVENT_BACKLOG: usize = 4096;
/// Records from other workers taken in one turn from which the worker
/// assumes more may be waiting and turns again before it sleeps: the
/// forwarder takes at most 1024 per peer per turn (and 256 redirected
/// datagrams or claims), and the producers' wake-up was spent on the turn
/// that stopped there. An extra turn costs nothing under such load.
const RECHECK_AFTER_RECORDS: u64 = 64;
/// Transports one worker holds at most.
pub const MAX_TRANSPORTS_PER_WORKER: usize = 16 * 1024;

/// Everything one worker does apart from moving bytes: it applies the
/// control plane's commands, routes datagrams to transports, runs their
/// timers and reports events. A driver calls it; it never does I/O itself.
pub struct WorkerCore {
    pub index: u16,
    transports: TransportSet,
    forwarder: Forwarder,
    /// Loss and jitter per transport, for connection quality.
    quality: LinkQualities,
    commands: Consumer<Command>,
    events: Producer<Event>,
    backlog: VecDeque<Event>,
    stop: bool,
    /// Events dropped because the ring and the backlog were full.
    pub events_dropped: u64,
    /// Copies the counters into the shared region for metrics, if attached.
    stats: Option<StatsPublisher>,
    /// Data-channel messages to and from the control plane, if attached.
    data_up: Option<DataUp>,
    data_down: Option<DataDown>,
    /// Datagrams and claims other workers handed over, handled each turn.
    deferred: Vec<CrossPacket>,
    /// Datagrams redirected to the worker that owns their transport.
    pub redirected: u64,
    /// The earliest transport timer, from this turn's `handle_timeouts`
    /// and, after the turn's datagrams, `end_turn`.
    next_timer: Option<Instant>,
    /// Every worker's wake-up (indexed by worker), to wake the ones this
    /// worker handed records to; empty when the workers are not woken
    /// (in-memory tests that tick every worker themselves).
    wakes: Vec<Arc<Wake>>,
    /// Sum of the counters that move when a turn may have pushed records
    /// to another worker, at the last `end_turn` (see `push_mark`).
    push_mark: u64,
    /// Commands applied and claims announced (they may push records).
    commands_applied: u64,
    claims_sent: u64,
    /// Set to the turn's time when it stopped at a per-turn bound
    /// (commands, data records, records from other workers): turn again
    /// before waiting.
    recheck: Option<Instant>,
}

/// Datagrams the core wants sent, collected during one call.
pub trait DatagramOut {
    fn send_to(&mut self, to: SocketAddr, payload: &[u8]);
}

struct Sink<'a> {
    out: &'a mut dyn DatagramOut,
    events: &'a mut Producer<Event>,
    backlog: &'a mut VecDeque<Event>,
    dropped: &'a mut u64,
    data: Option<&'a mut DataUp>,
}

impl TransportSink for Sink<'_> {
    fn send(&mut self, to: SocketAddr, payload: &[u8]) {
        self.out.send_to(to, payload);
    }
    fn event(&mut self, event: Event) {
        if self.backlog.is_empty() && self.events.try_push(event).is_ok() {
            return;
        }
        if self.backlog.len() < EVENT_BACKLOG {
            self.backlog.push_back(event);
        } else {
            *self.dropped += 1;
        }
    }
    fn data(&mut self, from: TransportId, kind: ChannelKind, payload: &[u8]) {
        if let Some(up) = self.data.as_deref_mut() {
            up.deliver(from, kind, payload);
        }
    }
}

impl WorkerCore {
    pub fn new(
        index: u16,
        cert: DtlsCertificate,
        commands: Consumer<Command>,
        events: Producer<Event>,
    ) -> Self {
        Self {
            index,
            transports: TransportSet::new(index, cert, MAX_TRANSPORTS_PER_WORKER),
            forwarder: Forwarder::default(),
            quality: LinkQualities::new(),
            commands,
            events,
            backlog: VecDeque::new(),
            stop: false,
            events_dropped: 0,
            stats: None,
            data_up: None,
            data_down: None,
            deferred: Vec::with_capacity(256),
            redirected: 0,
            next_timer: None,
            wakes: Vec::new(),
            push_mark: 0,
            commands_applied: 0,
            claims_sent: 0,
            recheck: None,
        }
    }

    /// Gives this worker every worker's wake-up (its own included, indexed
    /// by worker), so records it hands to a sleeping worker wake it.
    pub fn with_wakes(mut self, wakes: Vec<Arc<Wake>>) -> Self {
        self.wakes = wakes;
        self
    }

    /// The wake-ups given by [`WorkerCore::with_wakes`].
    pub fn wakes(&self) -> &[Arc<Wake>] {
        &self.wakes
    }

    /// A counter sum that moves whenever this worker may have pushed
    /// records to another worker's ring: RTP copies (and refusals), RTCP
    /// and PLI from its clients (sender-report copies, keyframe requests
    /// for publishers elsewhere), redirected datagrams, claims and
    /// commands. A keyframe request made while handling another worker's
    /// records is not in it: that worker is then busy publishing, and an
    /// idle one still wakes within `SFU_MAX_WAIT`.
    fn push_mark(&self) -> u64 {
        let c = &self.forwarder.counters;
        c.cross_out
            .wrapping_add(c.cross_full)
            .wrapping_add(c.rtcp_in)
            .wrapping_add(c.pli_in)
            .wrapping_add(self.redirected)
            .wrapping_add(self.claims_sent)
            .wrapping_add(self.commands_applied)
    }

    /// After the turn's datagrams, before the driver waits: re-reads the
    /// timers those datagrams moved, and wakes the other workers if this
    /// turn may have handed them records (an atomic add and load each; an
    /// eventfd write only for a worker that is asleep).
    pub fn end_turn(&mut self) {
        self.next_timer = self.transports.next_timeout();
        if self.wakes.is_empty() {
            return;
        }
        let mark = self.push_mark();
        if mark == self.push_mark {
            return;
        }
        self.push_mark = mark;
        for (i, w) in self.wakes.iter().enumerate() {
            if i != usize::from(self.index) {
                w.notify();
            }
        }
    }

    /// Connects this worker's data channels to the control plane through
    /// its data rings (see `data_path`).
    pub fn with_data(mut self, up: Producer<DataRecord>, down: Consumer<DataRecord>) -> Self {
        let (up, down) = data_path(up, down);
        self.data_up = Some(up);
        self.data_down = Some(down);
        self
    }

    /// What happened to data-channel messages on this worker.
    pub fn data_counters(&self) -> DataCounters {
        match (self.data_up.as_ref(), self.data_down.as_ref()) {
            (Some(u), Some(d)) => DataCounters::merged(&u.counters, &d.counters),
            _ => DataCounters::default(),
        }
    }

    /// Once per turn: held upward messages first, then routed messages down
    /// to local transports' channels. Returns the records taken.
    fn pump_data(&mut self, now: Instant, out: &mut dyn DatagramOut) -> usize {
        if let Some(up) = self.data_up.as_mut() {
            up.flush();
        }
        let Some(down) = self.data_down.as_mut() else {
            return 0;
        };
        let mut sink = Sink {
            out,
            events: &mut self.events,
            backlog: &mut self.backlog,
            dropped: &mut self.events_dropped,
            data: self.data_up.as_mut(),
        };
        down.pump(now, &mut self.transports, &mut sink)
    }

    /// Publishes this worker's counters through `stats` (see `stats_publish`).
    pub fn with_stats(mut self, stats: StatsPublisher) -> Self {
        self.stats = Some(stats);
        self
    }

    /// Connects this worker to the others: one ring to each other worker
    /// and one from each, for media whose subscribers live there.
    pub fn with_peers(
        mut self,
        peers: Vec<Producer<CrossPacket>>,
        inbox: Vec<Consumer<CrossPacket>>,
    ) -> Self {
        self.forwarder = Forwarder::new(peers, inbox);
        self.forwarder.set_worker(self.index);
        self
    }

    pub fn counters(&self) -> TransportCounters {
        self.transports.counters
    }

    pub fn forward_counters(&self) -> ForwardCounters {
        self.forwarder.counters
    }

    pub fn forwarder(&self) -> &Forwarder {
        &self.forwarder
    }

    pub fn transports(&self) -> &TransportSet {
        &self.transports
    }

    pub fn should_stop(&self) -> bool {
        self.stop
    }

    /// One datagram from the network. SRTP/SRTCP is decrypted in place in
    /// `data` and handed to the forwarder; datagrams of a transport another
    /// worker owns go to that worker.
    pub fn on_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &mut [u8],
        out: &mut dyn DatagramOut,
    ) {
        if let Some(owner) = self.transports.redirect_target(from, data) {
            if let Some(rec) = CrossPacket::datagram(from, data) {
                if self.forwarder.send_to_worker(owner, &rec) {
                    self.redirected += 1;
                }
            }
            return;
        }
        self.handle_datagram(now, from, data, out);
        self.announce_claims();
    }

    /// Tells the other workers about transports this worker now owns.
    fn announce_claims(&mut self) {
        if self.transports.claims.is_empty() {
            return;
        }
        for (id, addr) in self.transports.claims.drain(..) {
            self.claims_sent += 1;
            self.forwarder
                .send_to_all(&CrossPacket::claim(id, self.index, addr));
        }
    }

    fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &mut [u8],
        out: &mut dyn DatagramOut,
    ) {
        let mut sink = Sink {
            out,
            events: &mut self.events,
            backlog: &mut self.backlog,
            dropped: &mut self.events_dropped,
            data: self.data_up.as_mut(),
        };
        let rtcp = match PacketKind::of(data) {
            PacketKind::Rtp => false,
            PacketKind::Rtcp => true,
            _ => {
                self.transports.handle_datagram(now, from, data, &mut sink);
                return;
            }
        };
        let Some((id, len)) = self
            .transports
            .unprotect_media(now, from, data, rtcp, &mut sink)
        else {
            return;
        };
        let plain = &data[..len.min(data.len())];
        if rtcp {
            let forwarder = &self.forwarder;
            self.quality.on_rtcp(now, id, plain, |ssrc| {
                match forwarder.downtrack(id, ssrc).map(|d| d.kind) {
                    Some(MediaKind::Audio) => 48_000,
                    Some(MediaKind::Video) => 90_000,
                    None => 0,
                }
            });
            self.forwarder
                .on_rtcp(now, id, plain, false, &mut self.transports, &mut sink);
        } else {
            if let (Some(seq), Some(ssrc)) = (plain.get(2..4), plain.get(8..12)) {
                let seq = u16::from_be_bytes([seq[0], seq[1]]);
                let ssrc = u32::from_be_bytes([ssrc[0], ssrc[1], ssrc[2], ssrc[3]]);
                self.quality.on_rtp(id, ssrc, seq);
            }
            self.forwarder
                .on_rtp(now, id, plain, false, &mut self.transports, &mut sink);
        }
    }

    /// Once per loop turn: commands, due timers, backlog of events.
    pub fn on_tick(&mut self, now: Instant, out: &mut dyn DatagramOut) {
        while let Some(ev) = self.backlog.front().copied() {
            if self.events.try_push(ev).is_err() {
                break;
            }
            self.backlog.pop_front();
        }
        let data_taken = self.pump_data(now, &mut *out);
        let mut applied = 0;
        let mut sink = Sink {
            out,
            events: &mut self.events,
            backlog: &mut self.backlog,
            dropped: &mut self.events_dropped,
            data: self.data_up.as_mut(),
        };
        for _ in 0..COMMANDS_PER_TURN {
            let Some(cmd) = self.commands.try_pop() else {
                break;
            };
            self.commands_applied += 1;
            applied += 1;
            if cmd == Command::Shutdown {
                self.stop = true;
                continue;
            }
            if let Command::RemoveTransport { id } = cmd {
                self.quality.forget(id);
            }
            self.forwarder
                .apply(now, &cmd, &mut self.transports, &mut sink);
            self.transports.apply(now, cmd, &mut sink);
        }
        let c = &self.forwarder.counters;
        let peer_before = c.cross_in.wrapping_add(c.rtcp_in);
        self.forwarder
            .on_tick(now, &mut self.transports, &mut sink, &mut self.deferred);
        let c = &self.forwarder.counters;
        let peer_records = c.cross_in.wrapping_add(c.rtcp_in).wrapping_sub(peer_before)
            + self.deferred.len() as u64;
        let more = applied >= COMMANDS_PER_TURN
            || data_taken >= super::data_path::DATA_OUT_PER_TURN
            || peer_records >= RECHECK_AFTER_RECORDS
            || self.deferred.len() >= self.deferred.capacity();
        self.recheck = more.then_some(now);
        let transports = &mut self.transports;
        self.quality.on_tick(now, |o| match o {
            QualityOutput::Event(ev) => sink.event(ev),
            QualityOutput::Report(id, block) => {
                // The publisher learns its loss and, from LSR/DLSR, the
                // round trip. 32 bytes of report plus the SRTCP trailer.
                let Some(t) = transports.get_mut(id).filter(|t| t.media_ready()) else {
                    return;
                };
                let mut buf = [0u8; 96];
                let n = rtcp::write_receiver_report(&mut buf, rtcp::SERVER_RTCP_SSRC, &block);
                if let Some((to, len)) = t.protect_rtcp(&mut buf, n) {
                    sink.send(to, &buf[..len]);
                }
            }
        });
        self.next_timer = self.transports.handle_timeouts(now, &mut sink);
        let mut deferred = std::mem::take(&mut self.deferred);
        for rec in deferred.drain(..) {
            let addr = SocketAddr::from(rec.addr);
            match rec.kind {
                CrossKind::Claim => {
                    self.transports
                        .apply_claim(rec.source, rec.ssrc as u16, addr);
                }
                _ => {
                    let mut buf = rec.data;
                    let len = usize::from(rec.len).min(buf.len());
                    self.handle_datagram(now, addr, &mut buf[..len], out);
                }
            }
        }
        self.deferred = deferred;
        self.announce_claims();
        if let Some(stats) = self.stats.as_mut() {
            let core = CoreCounters {
                transports: self.transports.counters,
                forward: self.forwarder.counters,
                transports_live: self.transports.len() as u64,
                events_dropped: self.events_dropped,
            };
            stats.maybe_publish(now, &core);
        }
    }

    /// When the next timer is due; the past (no wait) when the last turn
    /// stopped at a per-turn bound with work possibly left in a ring.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.recheck.or(self.next_timer)
    }
}

/// The driver-facing side of a worker with [`WorkerCore::end_turn`] after
/// each turn's datagrams (wraps the runtime's `WorkerHandler`).
pub struct TurnEnd(pub super::WorkerHandler);

impl PacketHandler for TurnEnd {
    fn on_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        local: SocketAddr,
        data: &mut [u8],
        out: &mut SendQueue,
    ) {
        self.0.on_datagram(now, from, local, data, out);
    }
    fn on_tick(&mut self, now: Instant, out: &mut SendQueue) {
        self.0.on_tick(now, out);
    }
    fn next_deadline(&self) -> Option<Instant> {
        self.0.next_deadline()
    }
    fn should_stop(&self) -> bool {
        self.0.should_stop()
    }
    fn end_turn(&mut self) {
        if let Some(core) = self.0 .0.as_mut() {
            core.end_turn();
        }
    }
}

/// The wake-ups `connect_peers` gave the cores (one per worker), or fresh
/// ones if the cores have none, for `spawn_workers_woken`.
pub fn wakes_of(
    cores: &Mutex<Vec<Option<WorkerCore>>>,
    workers: usize,
) -> Result<Vec<Arc<Wake>>, DriverError> {
    let cores = cores.lock().unwrap_or_else(|e| e.into_inner());
    match cores.iter().flatten().next() {
        Some(c) if c.wakes.len() >= workers => Ok(c.wakes.clone()),
        _ => crate::worker::new_wakes(workers),
    }
}

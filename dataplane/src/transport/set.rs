use std::collections::HashMap;

use rustc_hash::FxBuildHasher;
use std::net::SocketAddr;
use std::time::Instant;

use ringcast_shared::records::{Command, TransportId};

use super::timers::TimerQueue;
use super::{Transport, TransportSink};
use crate::demux::PacketKind;
use crate::dtls::DtlsCertificate;
use crate::ice::{username_ufrag, IceLite, TransportIndex, TransportTable, MAX_VALID_REMOTES};

/// Why datagrams and commands were refused; every counter only grows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TransportCounters {
    /// STUN whose USERNAME names no transport of this worker.
    pub stun_unknown_ufrag: u64,
    /// STUN refused by a transport (bad integrity, malformed, wrong ufrag).
    pub stun_rejected: u64,
    /// DTLS/RTP/RTCP from an address that never passed an ICE check.
    pub unbound_dropped: u64,
    /// RTP/RTCP from a bound address handed to `handle_datagram` instead
    /// of `unprotect_media` (only tests do that).
    pub media_ignored: u64,
    /// SRTP/SRTCP that failed authentication or was malformed.
    pub srtp_failed: u64,
    /// SRTP/SRTCP refused by the replay window.
    pub srtp_replayed: u64,
    /// Retransmissions (RTX) unwrapped into their original packets, and
    /// payload-less RTX (bandwidth probes) consumed.
    pub rtx_in: u64,
    pub rtx_probes: u64,
    /// Datagrams that are neither STUN, DTLS nor RTP/RTCP.
    pub unknown_dropped: u64,
    /// AddTransport refused (table full, bad credentials, duplicate).
    pub add_refused: u64,
    /// Transports whose timer had moved without being marked for the timer
    /// queue, found by the background sweep (a missing `touch`; 0 expected).
    pub timer_repairs: u64,
}

/// Transports re-checked against the timer queue, in turn, at most every
/// [`TIMER_SWEEP_EVERY`]: a safety net that bounds how late a timer moved
/// through a path that forgot [`TransportSet::touch`] can run (16 K
/// transports: one pass in 2.5 s). Paced by time, not per turn: at 32 per
/// turn, a worker woken per packet spent ~0.8 % of its samples in
/// `Transport::poll_timeout` for the sweep alone (perf, 1 -> 500 audio).
const TIMER_SWEEP_BATCH: usize = 32;
const TIMER_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_millis(5);

/// Every transport of one worker, with the routing tables.
pub struct TransportSet {
    worker: u16,
    cert: DtlsCertificate,
    slots: Vec<Option<Transport>>,
    free: Vec<TransportIndex>,
    /// FxHash, not SipHash: the forwarder looks a transport up by id for
    /// every down-track of every packet (SipHash was ~0.25 % of a worker's
    /// samples in a 1 -> 500 audio profile), and ids are the control
    /// plane's, not a client's.
    by_id: HashMap<TransportId, TransportIndex, FxBuildHasher>,
    table: TransportTable,
    /// Addresses bound to transports another worker owns -> that worker.
    /// Looked up for every datagram; FxHash as the ICE table's address map
    /// (addresses that passed an ICE check, bounded).
    redirects: HashMap<SocketAddr, (u16, TransportId), FxBuildHasher>,
    /// Ownership claims to announce to the other workers: this worker runs
    /// the transport's DTLS and bound the address (drained by the worker).
    pub claims: Vec<(TransportId, SocketAddr)>,
    pub counters: TransportCounters,
    /// Every transport's next deadline (see `timers.rs`).
    timers: TimerQueue,
    /// Scratch lists for the timer queue, sized at start.
    timer_scratch: Vec<TransportIndex>,
    /// Next slot the background sweep looks at, and when.
    sweep_at: usize,
    next_sweep: Option<Instant>,
}

impl TransportSet {
    /// A set holding at most `max_transports` transports.
    pub fn new(worker: u16, cert: DtlsCertificate, max_transports: usize) -> Self {
        Self {
            worker,
            cert,
            slots: Vec::with_capacity(max_transports),
            free: Vec::new(),
            by_id: HashMap::with_capacity_and_hasher(max_transports, FxBuildHasher),
            table: TransportTable::with_capacity(
                max_transports,
                max_transports * MAX_VALID_REMOTES,
            ),
            redirects: HashMap::with_hasher(FxBuildHasher),
            claims: Vec::with_capacity(64),
            counters: TransportCounters::default(),
            timers: TimerQueue::with_capacity(max_transports),
            timer_scratch: Vec::with_capacity(max_transports),
            sweep_at: 0,
            next_sweep: None,
        }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn get(&self, id: TransportId) -> Option<&Transport> {
        let idx = *self.by_id.get(&id)?;
        self.slots.get(idx as usize)?.as_ref()
    }

    /// Applies a control-plane command.
    pub fn apply(&mut self, now: Instant, cmd: Command, sink: &mut dyn TransportSink) {
        match cmd {
            Command::AddTransport {
                id,
                local_ufrag,
                local_pwd,
                remote_ufrag,
                role,
                fingerprint,
            } => {
                if self.by_id.contains_key(&id) {
                    return;
                }
                let ice = match IceLite::new(
                    local_ufrag.as_str(),
                    local_pwd.as_str(),
                    remote_ufrag.as_str(),
                ) {
                    Ok(i) => i,
                    Err(e) => {
                        self.counters.add_refused += 1;
                        tracing::warn!(transport = id.0, error = %e, "AddTransport refused");
                        return;
                    }
                };
                // An all-zero fingerprint means "not known yet" (dual-PC
                // subscriber transport before the client's answer).
                let remote = (fingerprint.sha256 != [0; 32]).then_some((role, fingerprint.sha256));
                let idx = match self.free.pop() {
                    Some(i) => i,
                    None => self.slots.len() as TransportIndex,
                };
                if let Err(e) = self.table.insert_ufrag(local_ufrag.as_bytes(), idx) {
                    self.counters.add_refused += 1;
                    tracing::warn!(transport = id.0, error = %e, "AddTransport refused");
                    if (idx as usize) < self.slots.len() {
                        self.free.push(idx);
                    }
                    return;
                }
                let t = Transport::new(id, self.worker, ice, self.cert.clone(), remote);
                if (idx as usize) < self.slots.len() {
                    self.slots[idx as usize] = Some(t);
                } else {
                    self.slots.push(Some(t));
                }
                self.by_id.insert(id, idx);
                self.timers.touch(idx);
            }
            Command::SetRemoteDtls {
                id,
                role,
                fingerprint,
            } => {
                if let Some(&i) = self.by_id.get(&id) {
                    if let Some(t) = self.slots.get_mut(i as usize).and_then(Option::as_mut) {
                        t.set_remote_dtls(now, role, fingerprint.sha256, sink);
                        self.timers.touch(i);
                    }
                }
            }
            Command::SetRemoteIce { id, remote_ufrag } => {
                if let Some(t) = self.get_mut(id) {
                    if let Err(e) = t.set_remote_ufrag(remote_ufrag.as_str()) {
                        tracing::warn!(transport = id.0, error = %e, "SetRemoteIce refused");
                    }
                    self.touch(id);
                }
            }
            Command::RemoveTransport { id } => {
                self.redirects.retain(|_, (_, t)| *t != id);
                if let Some(idx) = self.by_id.remove(&id) {
                    if let Some(mut t) = self.slots.get_mut(idx as usize).and_then(Option::take) {
                        t.close(sink);
                    }
                    self.table.remove_transport(idx);
                    self.timers.schedule(idx, None);
                    self.free.push(idx);
                }
            }
            // Down-tracks belong to the worker's forwarder, not the transports.
            Command::SetRtpExtensions {
                id,
                rid,
                repaired_rid,
                transport_cc,
                ..
            } => {
                if let Some(t) = self.get_mut(id) {
                    t.rid_ids = (rid, repaired_rid);
                    t.set_twcc(now, transport_cc);
                    self.touch(id);
                }
            }
            Command::SetRtxPair {
                id,
                media_ssrc,
                rtx_ssrc,
            } => {
                if let Some(t) = self.get_mut(id) {
                    t.add_rtx_pair(media_ssrc, rtx_ssrc);
                }
            }
            Command::AddDownTrack { .. }
            | Command::SwitchDownTrack { .. }
            | Command::RemoveDownTrack { .. }
            | Command::Shutdown => {}
        }
    }

    /// Routes one datagram: bound address first, STUN by ufrag, else drop.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        pkt: &[u8],
        sink: &mut dyn TransportSink,
    ) {
        match PacketKind::of(pkt) {
            PacketKind::Stun => {
                // By the ufrag the check names first: an address still bound
                // to a transport whose client is gone (kept for a resume, or
                // not yet timed out) may be reused by a new client, and its
                // checks must reach the new transport, which then takes the
                // address over. The address only for STUN without a known
                // ufrag.
                let idx = match username_ufrag(pkt).and_then(|u| self.table.by_ufrag(u)) {
                    Some(i) => Some(i),
                    None => self.table.by_addr(from),
                };
                let Some(idx) = idx else {
                    self.counters.stun_unknown_ufrag += 1;
                    return;
                };
                let Some(t) = self.slots.get_mut(idx as usize).and_then(Option::as_mut) else {
                    return;
                };
                self.timers.touch(idx);
                match t.handle_stun(now, from, pkt, sink) {
                    Ok(_) => {
                        let newly = self.table.by_addr(from) != Some(idx);
                        // The owner tells the other workers where this
                        // transport lives, for every address it binds.
                        if t.dtls_started() && t.remote_owner.is_none() && (newly || !t.claimed) {
                            t.claimed = true;
                            if self.claims.len() < self.claims.capacity() {
                                self.claims.push((t.id, from));
                            }
                        }
                        // Every address that passed a check may carry DTLS and media.
                        if self.table.bind_addr(from, idx).is_err() {
                            self.counters.stun_rejected += 1;
                        }
                    }
                    Err(e) => {
                        self.counters.stun_rejected += 1;
                        tracing::debug!(%from, error = %e, "STUN check refused");
                    }
                }
            }
            PacketKind::Dtls => {
                let Some((idx, t)) = self.bound(from) else {
                    self.counters.unbound_dropped += 1;
                    return;
                };
                t.handle_dtls(now, pkt, sink);
                self.timers.touch(idx);
            }
            PacketKind::Rtp => match self.bound(from) {
                Some(_) => self.counters.media_ignored += 1,
                None => self.counters.unbound_dropped += 1,
            },
            PacketKind::Rtcp => {
                if self.bound(from).is_some() {
                    self.counters.media_ignored += 1;
                } else {
                    self.counters.unbound_dropped += 1;
                }
            }
            PacketKind::Unknown => self.counters.unknown_dropped += 1,
        }
    }

    /// An SRTP or SRTCP datagram from `from`: finds its transport and
    /// decrypts it in place. Returns the transport and the plaintext length;
    /// drops (and counts) media from unchecked addresses and packets that do
    /// not authenticate. The first RTP of each SSRC is reported upward.
    pub fn unprotect_media(
        &mut self,
        now: Instant,
        from: SocketAddr,
        pkt: &mut [u8],
        rtcp: bool,
        sink: &mut dyn TransportSink,
    ) -> Option<(TransportId, usize)> {
        let found = self
            .table
            .by_addr(from)
            .and_then(|idx| Some((idx, self.slots.get_mut(idx as usize)?.as_mut()?)))
            .filter(|(_, t)| t.accepts_from(from));
        let Some((idx, t)) = found else {
            self.counters.unbound_dropped += 1;
            return None;
        };
        let r = if rtcp {
            t.unprotect_rtcp(pkt)
        } else {
            t.unprotect_rtp(pkt)
        };
        match r {
            Ok(len) => {
                if !rtcp {
                    if let Some(plain) = pkt.get(..len) {
                        // Both may move the transport's timer (transport-cc
                        // feedback, the stall check).
                        t.note_arrival(now, plain);
                        t.note_rtp_ssrc(now, plain, sink);
                        self.timers.touch(idx);
                    }
                    if let Some(n) = t.unwrap_rtx(pkt, len) {
                        let id = t.id;
                        if n == 0 {
                            self.counters.rtx_probes += 1;
                            return None;
                        }
                        self.counters.rtx_in += 1;
                        return Some((id, n));
                    }
                }
                Some((t.id, len))
            }
            Err(crate::srtp::SrtpError::Replayed) => {
                self.counters.srtp_replayed += 1;
                None
            }
            Err(_) => {
                self.counters.srtp_failed += 1;
                None
            }
        }
    }

    /// The worker a datagram from `from` must go to instead of being handled
    /// here: its address is bound to a transport another worker owns, or it
    /// is a STUN check naming such a transport.
    pub fn redirect_target(&self, from: SocketAddr, pkt: &[u8]) -> Option<u16> {
        let named = || {
            let idx = username_ufrag(pkt).and_then(|u| self.table.by_ufrag(u))?;
            self.slots.get(idx as usize)?.as_ref().map(|t| (idx, t))
        };
        let is_stun = PacketKind::of(pkt) == PacketKind::Stun;
        if let Some(&(w, id)) = (!self.redirects.is_empty())
            .then(|| self.redirects.get(&from))
            .flatten()
        {
            // A check naming another transport: a new client on a reused
            // address, routed by the name (see `handle_datagram`).
            return match is_stun.then(named).flatten() {
                Some((_, t)) if t.id != id => t.remote_owner,
                _ => Some(w),
            };
        }
        if !is_stun {
            return None;
        }
        let (idx, t) = named()?;
        if self.table.by_addr(from) == Some(idx) {
            return None;
        }
        t.remote_owner
    }

    /// Worker `owner` runs transport `id` and bound `addr` to it. Ignored if
    /// this worker runs that transport's DTLS itself.
    pub fn apply_claim(&mut self, id: TransportId, owner: u16, addr: SocketAddr) {
        let me = self.worker;
        let Some(t) = self.get_mut(id) else { return };
        if t.dtls_started() || owner == me {
            return;
        }
        t.remote_owner = Some(owner);
        if self.redirects.len() < self.slots.capacity().max(1024) * MAX_VALID_REMOTES {
            self.redirects.insert(addr, (owner, id));
        }
    }

    /// A transport by id, to send media on. Calls that may move its timer
    /// (`send_data`, `set_twcc`, anything that drives DTLS or SCTP) must be
    /// followed by [`TransportSet::touch`]; SRTP protect/unprotect need not.
    pub fn get_mut(&mut self, id: TransportId) -> Option<&mut Transport> {
        let idx = *self.by_id.get(&id)?;
        self.slots.get_mut(idx as usize)?.as_mut()
    }

    /// Transport `id`'s timer may have moved: it is re-read at the next
    /// `handle_timeouts` or `next_timeout`.
    pub fn touch(&mut self, id: TransportId) {
        if let Some(&idx) = self.by_id.get(&id) {
            self.timers.touch(idx);
        }
    }

    fn bound(&mut self, from: SocketAddr) -> Option<(TransportIndex, &mut Transport)> {
        let idx = self.table.by_addr(from)?;
        let t = self.slots.get_mut(idx as usize)?.as_mut()?;
        t.accepts_from(from).then_some((idx, t))
    }

    /// The earliest timer of any transport.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.slots
            .iter()
            .flatten()
            .filter_map(Transport::poll_timeout)
            .min()
    }

    /// Runs every transport timer that is due, and returns the earliest
    /// timer left. Only transports that are due, or were touched since the
    /// last call, are looked at (see `timers.rs`), plus
    /// [`TIMER_SWEEP_BATCH`] in turn every [`TIMER_SWEEP_EVERY`] as a
    /// safety net. Timers that
    /// datagrams set later in the same turn are picked up by
    /// [`TransportSet::next_timeout`] before the worker waits.
    pub fn handle_timeouts(
        &mut self,
        now: Instant,
        sink: &mut dyn TransportSink,
    ) -> Option<Instant> {
        self.reschedule_touched();
        if self.next_sweep.is_none_or(|t| now >= t) {
            self.next_sweep = Some(now + TIMER_SWEEP_EVERY);
            self.sweep();
        }
        let mut due = std::mem::take(&mut self.timer_scratch);
        self.timers.pop_due(now, &mut due);
        for &idx in &due {
            if let Some(t) = self.slots.get_mut(idx as usize).and_then(Option::as_mut) {
                t.handle_timeout(now, sink);
                // A timer that is still due runs again next turn, not in
                // this loop (one call per transport per turn, as before).
                self.timers.schedule(idx, t.poll_timeout());
            }
        }
        self.timer_scratch = due;
        self.timers.earliest()
    }

    /// The earliest transport timer, after re-reading the transports
    /// touched since the last call: what a worker may sleep until.
    pub fn next_timeout(&mut self) -> Option<Instant> {
        self.reschedule_touched();
        self.timers.earliest()
    }

    fn reschedule_touched(&mut self) {
        let mut dirty = std::mem::take(&mut self.timer_scratch);
        self.timers.take_dirty(&mut dirty);
        for &idx in &dirty {
            let at = self
                .slots
                .get(idx as usize)
                .and_then(Option::as_ref)
                .and_then(Transport::poll_timeout);
            self.timers.schedule(idx, at);
        }
        dirty.clear();
        self.timer_scratch = dirty;
    }

    /// Re-checks a few transports against their scheduled deadline.
    fn sweep(&mut self) {
        let n = self.slots.len();
        if n == 0 {
            return;
        }
        for _ in 0..TIMER_SWEEP_BATCH.min(n) {
            self.sweep_at = (self.sweep_at + 1) % n;
            let idx = self.sweep_at as TransportIndex;
            let at = self.slots[self.sweep_at]
                .as_ref()
                .and_then(Transport::poll_timeout);
            if at != self.timers.scheduled(idx) {
                self.counters.timer_repairs += 1;
                self.timers.schedule(idx, at);
            }
        }
    }
}

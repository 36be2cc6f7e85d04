//! Media forwarding on one worker (DESIGN.md "A packet's walk"): each RTP
//! packet is decrypted once on the worker that received it; for that
//! worker's own subscribers it is rewritten (SSRC, sequence, timestamp,
//! payload type, header extensions dropped) and encrypted per down-track;
//! for subscribers on other workers one plaintext copy goes into each
//! other worker's SPSC ring, and that worker does the rest. RTCP from
//! subscribers (PLI/FIR, NACK) is answered here or passed to the
//! publisher's worker. The tables are plain per-worker maps programmed by
//! control-plane commands: no locks, nothing shared.

mod cache;
mod cross;
mod downtrack;
mod levels;
mod nack;

pub use cache::{PacketCache, CACHE_SLOTS, MAX_PACKET, MAX_RESENDS};
pub use cross::{CrossKind, CrossPacket, CROSS_RING_SLOTS};
pub use downtrack::{seq_newer, DownTrack, Mapping};
pub use levels::{AudioLevels, LEVEL_WINDOW};
pub use nack::{NackList, NackPoll, NACK_ITEMS, NACK_LIST_LEN, NACK_MAX_TRIES};

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ringcast_shared::records::{CodecId, Command, MediaKind, TransportId};
use ringcast_shared::ring::{Consumer, Producer};

use crate::rtcp::{self, Feedback};
use crate::rtp::{self, RtpHeader, VideoCodec};
use crate::transport::{TransportSet, TransportSink};

/// Keyframe requests to one publisher stream at most this often.
const KEYFRAME_INTERVAL: Duration = Duration::from_millis(300);
/// Down-tracks one worker holds at most.
pub const MAX_DOWNTRACKS: usize = 64 * 1024;
/// Cross-worker records handled per loop turn and peer.
const CROSS_PER_TURN: usize = 1024;
/// Room for the SRTP tag after the largest packet.
const SCRATCH: usize = MAX_PACKET + 64;
/// Longest run of missing packets we NACK (longer is a stream restart).
const MAX_NACK_GAP: u16 = 64;

/// What the forwarder did and refused; every counter only grows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ForwardCounters {
    /// Authenticated RTP packets from publishers on this worker.
    pub rtp_in: u64,
    /// RTP that did not parse after decryption.
    pub rtp_malformed: u64,
    /// RTP of a stream nobody subscribes to.
    pub no_subscriber: u64,
    /// Packets sent to subscribers (first transmissions).
    pub forwarded: u64,
    pub forwarded_bytes: u64,
    /// Packets held back while a video down-track waits for a keyframe.
    pub waiting_keyframe: u64,
    /// A local down-track whose subscriber had no keys or address yet.
    pub sink_not_ready: u64,
    /// Plaintext copies handed to / received from other workers.
    pub cross_out: u64,
    pub cross_in: u64,
    /// Copies dropped because another worker's ring was full.
    pub cross_full: u64,
    /// RTCP packets from peers, and those that did not parse.
    pub rtcp_in: u64,
    pub rtcp_malformed: u64,
    /// PLI/FIR received from subscribers, and keyframe requests (PLI) we
    /// sent to publishers.
    pub pli_in: u64,
    pub pli_out: u64,
    /// NACKed packets, those resent from the cache, and those not found.
    pub nack_in: u64,
    pub retransmits: u64,
    pub nack_miss: u64,
    /// Commands refused (table full).
    pub commands_refused: u64,
    /// Sequence numbers we NACKed to publishers for their own losses
    /// (each retry counts again).
    pub nack_out: u64,
    /// Publisher packets that arrived after we NACKed them (RTX, or the
    /// original resent on the media SSRC when RTX was not negotiated).
    pub nack_repaired: u64,
    /// Publisher packets NACKed [`NACK_MAX_TRIES`] times without an answer.
    pub nack_given_up: u64,
    /// Sender reports sent on down-tracks.
    pub sr_out: u64,
}

/// Header-extension ids a transport's peer negotiated.
#[derive(Debug, Default, Clone, Copy)]
struct ExtIds {
    audio_level: u8,
}

/// State per publisher stream that has local down-tracks.
struct Source {
    cache: Option<PacketCache>,
    last_keyframe_request: Option<Instant>,
    /// Highest sequence number received from the publisher (for NACKs).
    highest: Option<u16>,
    /// Numbers missing from the publisher, NACKed until they arrive.
    nacks: NackList,
}

/// One worker's forwarding tables and its ends of the worker-to-worker rings.
pub struct Forwarder {
    downtracks: Vec<Option<DownTrack>>,
    free: Vec<u32>,
    by_source: HashMap<TransportId, Vec<u32>>,
    by_sink: HashMap<(TransportId, u32), u32>,
    /// Where removed down-tracks stopped, so a re-added one (a subscriber
    /// resuming a paused track) continues its sequence numbers.
    retired: HashMap<(TransportId, u32), (u16, u32, Option<Instant>)>,
    sources: HashMap<(TransportId, u32), Source>,
    extensions: HashMap<TransportId, ExtIds>,
    levels: AudioLevels,
    peers: Vec<Producer<CrossPacket>>,
    inbox: Vec<Consumer<CrossPacket>>,
    scratch: Box<[u8; SCRATCH]>,
    worker: u16,
    pub counters: ForwardCounters,
}

impl Default for Forwarder {
    fn default() -> Self {
        Self::new(Vec::new(), Vec::new())
    }
}

impl Forwarder {
    /// A forwarder sending to `peers` (one ring to each other worker) and
    /// reading `inbox` (one ring from each other worker).
    pub fn new(peers: Vec<Producer<CrossPacket>>, inbox: Vec<Consumer<CrossPacket>>) -> Self {
        Self {
            downtracks: Vec::new(),
            free: Vec::new(),
            by_source: HashMap::new(),
            by_sink: HashMap::new(),
            retired: HashMap::new(),
            sources: HashMap::new(),
            extensions: HashMap::new(),
            levels: AudioLevels::new(),
            peers,
            inbox,
            scratch: Box::new([0; SCRATCH]),
            worker: 0,
            counters: ForwardCounters::default(),
        }
    }

    /// This forwarder's worker index (peers are every other index in order).
    pub fn set_worker(&mut self, worker: u16) {
        self.worker = worker;
    }

    /// Hands `pkt` to worker `to`; false if it is unknown or its ring is full.
    pub fn send_to_worker(&mut self, to: u16, pkt: &CrossPacket) -> bool {
        if to == self.worker {
            return false;
        }
        let pos = if to < self.worker { to } else { to - 1 };
        let ok = self
            .peers
            .get_mut(usize::from(pos))
            .is_some_and(|p| p.try_push(*pkt).is_ok());
        if !ok {
            self.counters.cross_full += 1;
        }
        ok
    }

    /// Hands `pkt` to every other worker.
    pub fn send_to_all(&mut self, pkt: &CrossPacket) {
        for p in self.peers.iter_mut() {
            if p.try_push(*pkt).is_err() {
                self.counters.cross_full += 1;
            }
        }
    }

    /// Down-tracks held (local or not).
    pub fn len(&self) -> usize {
        self.by_sink.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_sink.is_empty()
    }

    pub fn downtrack(&self, sink: TransportId, ssrc: u32) -> Option<&DownTrack> {
        let i = *self.by_sink.get(&(sink, ssrc))?;
        self.downtracks.get(i as usize)?.as_ref()
    }

    /// Applies the forwarding commands; others are ignored.
    pub fn apply(
        &mut self,
        now: Instant,
        cmd: &Command,
        transports: &mut TransportSet,
        sink: &mut dyn TransportSink,
    ) {
        match *cmd {
            Command::AddDownTrack { spec } => {
                self.remove_downtrack(spec.sink, spec.ssrc);
                if self.by_sink.len() >= MAX_DOWNTRACKS {
                    self.counters.commands_refused += 1;
                    return;
                }
                let mut dt = DownTrack::new(&spec);
                if let Some(last) = self.retired.remove(&(spec.sink, spec.ssrc)) {
                    dt.resume_after(last);
                }
                let i = match self.free.pop() {
                    Some(i) => {
                        self.downtracks[i as usize] = Some(dt);
                        i
                    }
                    None => {
                        self.downtracks.push(Some(dt));
                        (self.downtracks.len() - 1) as u32
                    }
                };
                self.by_source.entry(spec.source).or_default().push(i);
                self.by_sink.insert((spec.sink, spec.ssrc), i);
                self.ensure_source(spec.source, spec.source_ssrc, spec.kind);
                if matches!(spec.kind, MediaKind::Video) {
                    self.request_keyframe(now, spec.source, spec.source_ssrc, transports, sink);
                }
            }
            Command::SwitchDownTrack {
                sink: to,
                ssrc,
                source_ssrc,
                source_pt,
            } => {
                let Some(&i) = self.by_sink.get(&(to, ssrc)) else {
                    return;
                };
                let Some(dt) = self.downtracks.get_mut(i as usize).and_then(Option::as_mut) else {
                    return;
                };
                if dt.source_ssrc == source_ssrc {
                    dt.pending = None;
                    return;
                }
                dt.pending = Some((source_ssrc, source_pt));
                let (source, kind) = (dt.source, dt.kind);
                self.ensure_source(source, source_ssrc, kind);
                self.request_keyframe(now, source, source_ssrc, transports, sink);
            }
            Command::RemoveDownTrack { sink: to, ssrc } => self.remove_downtrack(to, ssrc),
            Command::SetRtpExtensions {
                id, audio_level, ..
            } => {
                self.extensions.insert(id, ExtIds { audio_level });
            }
            Command::RemoveTransport { id } => self.forget_transport(id),
            _ => {}
        }
    }

    fn ensure_source(&mut self, source: TransportId, ssrc: u32, kind: MediaKind) {
        self.sources
            .entry((source, ssrc))
            .or_insert_with(|| Source {
                cache: matches!(kind, MediaKind::Video).then(PacketCache::new),
                last_keyframe_request: None,
                highest: None,
                nacks: NackList::new(),
            });
    }

    fn remove_downtrack(&mut self, to: TransportId, ssrc: u32) {
        let Some(i) = self.by_sink.remove(&(to, ssrc)) else {
            return;
        };
        let Some(dt) = self.downtracks.get_mut(i as usize).and_then(Option::take) else {
            return;
        };
        self.free.push(i);
        if let Some(pos) = dt.position() {
            if self.retired.len() >= MAX_DOWNTRACKS {
                self.retired.clear();
            }
            self.retired.insert((to, ssrc), pos);
        }
        if let Some(list) = self.by_source.get_mut(&dt.source) {
            list.retain(|&j| j != i);
            if list.is_empty() {
                self.by_source.remove(&dt.source);
            }
        }
        // Drop source state no remaining down-track reads.
        let downtracks = &self.downtracks;
        let by_source = &self.by_source;
        self.sources.retain(|&(src, s), _| {
            by_source.get(&src).is_some_and(|l| {
                l.iter().any(|&j| {
                    downtracks
                        .get(j as usize)
                        .and_then(Option::as_ref)
                        .is_some_and(|d| d.wants(s))
                })
            })
        });
    }

    fn forget_transport(&mut self, id: TransportId) {
        let gone: Vec<(TransportId, u32)> = self
            .by_sink
            .iter()
            .filter(|(_, &i)| {
                self.downtracks
                    .get(i as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|d| d.sink == id || d.source == id)
            })
            .map(|(k, _)| *k)
            .collect();
        for (to, ssrc) in gone {
            self.remove_downtrack(to, ssrc);
        }
        self.extensions.remove(&id);
        self.retired.retain(|(sink, _), _| *sink != id);
        self.levels.forget(id);
    }

    /// A decrypted RTP packet from publisher transport `source` (received
    /// here, or handed over by another worker when `from_peer`).
    pub fn on_rtp(
        &mut self,
        now: Instant,
        source: TransportId,
        pkt: &[u8],
        from_peer: bool,
        transports: &mut TransportSet,
        sink: &mut dyn TransportSink,
    ) {
        let h = match RtpHeader::parse(pkt) {
            Ok(h) => h,
            Err(_) => {
                self.counters.rtp_malformed += 1;
                return;
            }
        };
        if from_peer {
            self.counters.cross_in += 1;
        } else {
            self.counters.rtp_in += 1;
            if let Some(ext) = self.extensions.get(&source) {
                if let Some(level) = rtp::audio_level(pkt, &h, ext.audio_level) {
                    self.levels.add(source, h.ssrc, level);
                }
            }
        }
        if !from_peer {
            self.nack_gaps(now, source, &h, transports, sink);
        }
        let Some(list) = self.by_source.get(&source) else {
            self.counters.no_subscriber += 1;
            return;
        };
        let payload = h.payload(pkt);
        let mut keyframe: Option<bool> = None;
        let mut remote_needed = false;
        let mut cached = false;
        let mut want_keyframe = false;
        let mut any = false;
        for &i in list {
            let Some(dt) = self.downtracks.get_mut(i as usize).and_then(Option::as_mut) else {
                continue;
            };
            if !dt.wants(h.ssrc) {
                continue;
            }
            any = true;
            let Some(t) = transports.get_mut(dt.sink).filter(|t| t.media_ready()) else {
                // Bound on another worker (or not connected yet).
                remote_needed = true;
                continue;
            };
            let is_key = match dt.kind {
                MediaKind::Audio => true,
                MediaKind::Video => *keyframe
                    .get_or_insert_with(|| rtp::is_keyframe_start(video_codec(dt.codec), payload)),
            };
            let (sequence, timestamp) = match dt.map(now, &h, is_key) {
                Mapping::Forward {
                    sequence,
                    timestamp,
                } => (sequence, timestamp),
                Mapping::Skip => continue,
                Mapping::NeedKeyframe => {
                    self.counters.waiting_keyframe += 1;
                    want_keyframe = true;
                    continue;
                }
            };
            if !cached && matches!(dt.kind, MediaKind::Video) {
                cached = true;
                if let Some(c) = self
                    .sources
                    .get_mut(&(source, h.ssrc))
                    .and_then(|s| s.cache.as_mut())
                {
                    c.insert(h.sequence, pkt);
                }
            }
            let Some(n) = rewrite(
                &mut self.scratch[..],
                pkt,
                &h,
                dt.payload_type,
                sequence,
                timestamp,
                dt.ssrc,
            ) else {
                continue;
            };
            match t.protect_rtp(&mut self.scratch[..], n) {
                Some((to, len)) => {
                    sink.send(to, &self.scratch[..len]);
                    dt.packets += 1;
                    dt.bytes += len as u64;
                    self.counters.forwarded += 1;
                    self.counters.forwarded_bytes += len as u64;
                }
                None => self.counters.sink_not_ready += 1,
            }
        }
        if !any {
            self.counters.no_subscriber += 1;
        }
        if remote_needed && !from_peer && !self.peers.is_empty() {
            if let Some(copy) = CrossPacket::rtp(source, pkt) {
                for p in self.peers.iter_mut() {
                    if p.try_push(copy).is_ok() {
                        self.counters.cross_out += 1;
                    } else {
                        self.counters.cross_full += 1;
                    }
                }
            }
        }
        if want_keyframe {
            self.request_keyframe(now, source, h.ssrc, transports, sink);
        }
    }

    /// On the publisher's worker: a gap in a video source's sequence numbers
    /// is NACKed to the publisher at once (it answers with RTX, which the
    /// transport unwraps, or with the original packet again), and again
    /// each retry interval while the packet is missing, up to
    /// [`NACK_MAX_TRIES`] times: the NACK or its answer may be lost too.
    /// Retries are timed by the stream's own packets (video sends several
    /// per frame), so no timer is needed. Giving up asks for no keyframe:
    /// most numbers never answered are padding (libwebrtc without RTX pads
    /// on the media SSRC for bandwidth probes and keeps no padding in its
    /// history), which no decoder misses; a lost media packet gets its
    /// keyframe from the subscribers' own PLIs. Gaps longer than
    /// [`MAX_NACK_GAP`] are a restart, not loss.
    fn nack_gaps(
        &mut self,
        now: Instant,
        source: TransportId,
        h: &RtpHeader,
        transports: &mut TransportSet,
        sink: &mut dyn TransportSink,
    ) {
        let Some(src) = self.sources.get_mut(&(source, h.ssrc)) else {
            return;
        };
        if src.cache.is_none() {
            return; // audio: no NACKs (Opus FEC/PLC handles loss)
        }
        match src.highest {
            None => src.highest = Some(h.sequence),
            Some(hi) => {
                let diff = h.sequence.wrapping_sub(hi);
                if diff >= 0x8000 {
                    // Older than the highest: a repair or reordering.
                    if src.nacks.arrived(now, h.sequence) {
                        self.counters.nack_repaired += 1;
                    }
                } else if diff > 0 {
                    src.highest = Some(h.sequence);
                    let missing = diff - 1;
                    if missing > MAX_NACK_GAP {
                        src.nacks.clear();
                    } else if missing > 0 {
                        src.nacks.add_gap(hi.wrapping_add(1), missing);
                    }
                }
            }
        }
        if src.nacks.is_empty() {
            return;
        }
        let Some(t) = transports.get_mut(source).filter(|t| t.media_ready()) else {
            return;
        };
        let mut items = [(0u16, 0u16); NACK_ITEMS];
        let polled = src.nacks.poll(now, &mut items);
        if polled.items > 0 {
            let mut buf = [0u8; 12 + 4 * NACK_ITEMS + 32];
            let len = rtcp::write_nack(
                &mut buf,
                rtcp::SERVER_RTCP_SSRC,
                h.ssrc,
                &items[..polled.items],
            );
            if let Some((to, len)) = t.protect_rtcp(&mut buf, len) {
                sink.send(to, &buf[..len]);
                self.counters.nack_out += u64::from(polled.asked);
            }
        }
        if polled.gave_up > 0 {
            self.counters.nack_given_up += u64::from(polled.gave_up);
            tracing::debug!(
                transport = source.0,
                ssrc = h.ssrc,
                count = polled.gave_up,
                "publisher packets NACKed {NACK_MAX_TRIES} times without an answer; given up"
            );
        }
    }

    /// A decrypted RTCP compound packet from transport `from` (or, when
    /// `from_peer`, a publisher's RTCP another worker handed over: only its
    /// sender reports are used).
    pub fn on_rtcp(
        &mut self,
        now: Instant,
        from: TransportId,
        pkt: &[u8],
        from_peer: bool,
        transports: &mut TransportSet,
        sink: &mut dyn TransportSink,
    ) {
        self.counters.rtcp_in += 1;
        let mut reports: [(u32, u64, u32); 4] = [(0, 0, 0); 4];
        let mut nr = 0;
        let mut keyframes: [(TransportId, u32); 8] = [(TransportId(0), 0); 8];
        let mut nk = 0;
        let mut nacks: [(u32, u16, u16); 16] = [(0, 0, 0); 16];
        let mut nn = 0;
        let r = rtcp::for_each_feedback(pkt, |fb| match fb {
            Feedback::Pli { media_ssrc } | Feedback::Fir { media_ssrc } => {
                if let Some(dt) = self.downtrack(from, media_ssrc) {
                    if nk < keyframes.len() {
                        keyframes[nk] = (dt.source, dt.pending.map_or(dt.source_ssrc, |p| p.0));
                        nk += 1;
                    }
                }
            }
            Feedback::Nack {
                media_ssrc,
                pid,
                blp,
            } => {
                if nn < nacks.len() {
                    nacks[nn] = (media_ssrc, pid, blp);
                    nn += 1;
                }
            }
            Feedback::SenderReport {
                ssrc,
                ntp,
                rtp_time,
                ..
            } => {
                if nr < reports.len() {
                    reports[nr] = (ssrc, ntp, rtp_time);
                    nr += 1;
                }
            }
            // Link quality reads these (`quality::LinkQualities`).
            Feedback::ReceptionReport { .. } => {}
        });
        if r.is_err() {
            self.counters.rtcp_malformed += 1;
        }
        if nr > 0 {
            self.translate_sender_reports(from, &reports[..nr], transports, sink);
            if !from_peer && !self.peers.is_empty() {
                if let Some(mut copy) = CrossPacket::rtp(from, pkt) {
                    copy.kind = CrossKind::Rtcp;
                    self.send_to_all(&copy);
                }
            }
        }
        if from_peer {
            return;
        }
        for &(source, ssrc) in &keyframes[..nk] {
            self.counters.pli_in += 1;
            self.request_keyframe(now, source, ssrc, transports, sink);
        }
        for &(media_ssrc, pid, blp) in &nacks[..nn] {
            for bit in 0..17u16 {
                if bit > 0 && blp & (1 << (bit - 1)) == 0 {
                    continue;
                }
                self.counters.nack_in += 1;
                self.resend(from, media_ssrc, pid.wrapping_add(bit), transports, sink);
            }
        }
    }

    /// A publisher's sender reports, rewritten for each local down-track of
    /// those SSRCs (its SSRC, its timestamp offset, its own counts), so
    /// subscribers can line audio and video up.
    fn translate_sender_reports(
        &mut self,
        source: TransportId,
        reports: &[(u32, u64, u32)],
        transports: &mut TransportSet,
        sink: &mut dyn TransportSink,
    ) {
        let Some(list) = self.by_source.get(&source) else {
            return;
        };
        for &i in list {
            let Some(dt) = self.downtracks.get(i as usize).and_then(Option::as_ref) else {
                continue;
            };
            let Some(&(_, ntp, rtp_time)) = reports.iter().find(|r| r.0 == dt.source_ssrc) else {
                continue;
            };
            let Some(ts) = dt.map_timestamp(rtp_time) else {
                continue;
            };
            let Some(t) = transports.get_mut(dt.sink).filter(|t| t.media_ready()) else {
                continue;
            };
            let mut buf = [0u8; 64];
            let n = rtcp::write_sender_report(
                &mut buf,
                dt.ssrc,
                ntp,
                ts,
                dt.packets as u32,
                dt.bytes as u32,
            );
            if let Some((to, len)) = t.protect_rtcp(&mut buf, n) {
                sink.send(to, &buf[..len]);
                self.counters.sr_out += 1;
            }
        }
    }

    /// Answers one NACKed outgoing sequence number from the source's cache,
    /// at most [`MAX_RESENDS`] times per packet and subscriber.
    fn resend(
        &mut self,
        to: TransportId,
        ssrc: u32,
        out_seq: u16,
        transports: &mut TransportSet,
        sink: &mut dyn TransportSink,
    ) {
        let Some(&i) = self.by_sink.get(&(to, ssrc)) else {
            self.counters.nack_miss += 1;
            return;
        };
        let Some(dt) = self.downtracks.get_mut(i as usize).and_then(Option::as_mut) else {
            return;
        };
        let Some((in_seq, _, ts_offset)) = dt.source_seq(out_seq) else {
            tracing::debug!(
                transport = to.0,
                ssrc,
                out_seq,
                "NACK outside the current layer"
            );
            self.counters.nack_miss += 1;
            return;
        };
        let Some(pkt) = self
            .sources
            .get(&(dt.source, dt.source_ssrc))
            .and_then(|s| s.cache.as_ref())
            .and_then(|c| c.get(in_seq))
        else {
            tracing::debug!(
                transport = to.0,
                ssrc,
                out_seq,
                in_seq,
                "NACKed packet not in the cache (not received yet, or too old)"
            );
            self.counters.nack_miss += 1;
            return;
        };
        if !dt.allow_resend(out_seq) {
            tracing::debug!(
                transport = to.0,
                ssrc,
                out_seq,
                "NACKed packet already resent {MAX_RESENDS} times"
            );
            self.counters.nack_miss += 1;
            return;
        }
        let Ok(h) = RtpHeader::parse(pkt) else {
            return;
        };
        let timestamp = h.timestamp.wrapping_add(ts_offset);
        let Some(n) = rewrite(
            &mut self.scratch[..],
            pkt,
            &h,
            dt.payload_type,
            out_seq,
            timestamp,
            dt.ssrc,
        ) else {
            return;
        };
        if let Some((addr, len)) = transports
            .get_mut(to)
            .and_then(|t| t.protect_rtp(&mut self.scratch[..], n))
        {
            sink.send(addr, &self.scratch[..len]);
            self.counters.retransmits += 1;
        }
    }

    /// Asks the publisher of `source`/`ssrc` for a keyframe (PLI), at most
    /// once per [`KEYFRAME_INTERVAL`]; through the publisher's worker when
    /// the publisher is bound elsewhere.
    fn request_keyframe(
        &mut self,
        now: Instant,
        source: TransportId,
        ssrc: u32,
        transports: &mut TransportSet,
        sink: &mut dyn TransportSink,
    ) {
        if let Some(s) = self.sources.get_mut(&(source, ssrc)) {
            if s.last_keyframe_request
                .is_some_and(|t| now.saturating_duration_since(t) < KEYFRAME_INTERVAL)
            {
                return;
            }
            s.last_keyframe_request = Some(now);
        }
        match transports.get_mut(source).filter(|t| t.media_ready()) {
            Some(t) => {
                let mut buf = [0u8; 64];
                let n = rtcp::write_pli(&mut buf, rtcp::SERVER_RTCP_SSRC, ssrc);
                if let Some((to, len)) = t.protect_rtcp(&mut buf, n) {
                    sink.send(to, &buf[..len]);
                    self.counters.pli_out += 1;
                }
            }
            None => {
                let req = CrossPacket::keyframe_request(source, ssrc);
                for p in self.peers.iter_mut() {
                    if p.try_push(req).is_err() {
                        self.counters.cross_full += 1;
                    }
                }
            }
        }
    }

    /// Once per loop turn: packets and requests from other workers, and the
    /// audio-level window.
    /// Redirected datagrams and ownership claims are left in `deferred`
    /// (up to its capacity) for the worker, which owns the transports.
    pub fn on_tick(
        &mut self,
        now: Instant,
        transports: &mut TransportSet,
        sink: &mut dyn TransportSink,
        deferred: &mut Vec<CrossPacket>,
    ) {
        for p in 0..self.inbox.len() {
            for _ in 0..CROSS_PER_TURN {
                if deferred.len() >= deferred.capacity() {
                    break;
                }
                let Some(rec) = self.inbox.get_mut(p).and_then(Consumer::try_pop) else {
                    break;
                };
                match rec.kind {
                    CrossKind::Datagram | CrossKind::Claim => deferred.push(rec),
                    CrossKind::Rtcp => {
                        self.on_rtcp(now, rec.source, rec.payload(), true, transports, sink)
                    }
                    CrossKind::Rtp => {
                        self.on_rtp(now, rec.source, rec.payload(), true, transports, sink)
                    }
                    CrossKind::KeyframeRequest => {
                        if transports.get(rec.source).is_some_and(|t| t.media_ready()) {
                            if let Some(s) = self.sources.get_mut(&(rec.source, rec.ssrc)) {
                                if s.last_keyframe_request.is_some_and(|t| {
                                    now.saturating_duration_since(t) < KEYFRAME_INTERVAL
                                }) {
                                    continue;
                                }
                            }
                            self.sources
                                .entry((rec.source, rec.ssrc))
                                .or_insert(Source {
                                    cache: None,
                                    last_keyframe_request: None,
                                    highest: None,
                                    nacks: NackList::new(),
                                });
                            self.request_keyframe(now, rec.source, rec.ssrc, transports, sink);
                        }
                    }
                }
            }
        }
        self.levels.flush(now, |ev| sink.event(ev));
    }
}

fn video_codec(c: CodecId) -> VideoCodec {
    match c {
        CodecId::Vp8 => VideoCodec::Vp8,
        CodecId::Vp9 => VideoCodec::Vp9,
        CodecId::H264 => VideoCodec::H264,
        CodecId::Av1 => VideoCodec::Av1,
        _ => VideoCodec::Other,
    }
}

/// Copies `pkt` into `out`, drops its header extensions and writes the
/// down-track's ids; returns the new length (None if it does not fit).
pub fn rewrite(
    out: &mut [u8],
    pkt: &[u8],
    h: &RtpHeader,
    payload_type: u8,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
) -> Option<usize> {
    let dst = out.get_mut(..pkt.len())?;
    dst.copy_from_slice(pkt);
    let n = rtp::strip_extensions(out, pkt.len(), h);
    RtpHeader::write_ids(out, payload_type, sequence, timestamp, ssrc);
    Some(n)
}

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ringcast_shared::records::{
    DtlsRole, Event, FailReason, InlineStr, TransportId, WireAddr, RTP_STOPPED_AFTER_MS,
};

use crate::dtls::{DtlsCertificate, DtlsEvent, DtlsSession, SrtpKeyingMaterial};
use crate::ice::{IceError, IceEvent, IceLite};
use crate::rtcp::TwccRecorder;
use crate::sctp::channels::{self, DataSendError};
use crate::sctp::{SctpEvent, SctpTransport};
use crate::srtp::{SrtpContext, SrtpError};
use ringcast_shared::data_ring::ChannelKind;

/// Where a transport's output goes: datagrams to the network, events to the
/// control plane. Implemented by the worker over its send queue and event ring.
pub trait TransportSink {
    /// Queue `payload` to `to` on the worker's socket.
    fn send(&mut self, to: SocketAddr, payload: &[u8]);
    /// Tell the control plane.
    fn event(&mut self, event: Event);
    /// A whole data-channel message arrived on one of LiveKit's channels;
    /// the worker hands it to the control plane. Sinks that do not forward
    /// data (tests) ignore it.
    fn data(&mut self, _from: TransportId, _kind: ChannelKind, _payload: &[u8]) {}
}

/// The data channels the server opens itself on a transport where it is the
/// DTLS server (the dual-PC subscriber PC, LIVEKIT_PROTOCOL.md 2.6):
/// label, ordered, max retransmits.
const SERVER_CHANNELS: [(&str, bool, Option<u32>); 3] = [
    ("_reliable", true, None),
    ("_lossy", false, Some(0)),
    ("_data_track", false, Some(0)),
];

/// Publisher SSRCs a transport remembers having announced (simulcast is 3
/// layers plus RTX per track; beyond this, new SSRCs are not reported).
const MAX_SEEN_SSRCS: usize = 64;

/// RTX streams one transport pairs with media streams (3 layers per track).
const MAX_RTX_PAIRS: usize = 32;

/// How often quiet publisher SSRCs are looked for.
const STALL_CHECK: Duration = Duration::from_millis(250);

/// Scratch size for one STUN response.
const STUN_OUT: usize = 256;

/// One transport: ICE-lite answering checks, DTLS once a peer address passed
/// a check, SCTP once DTLS is up.
pub struct Transport {
    pub id: TransportId,
    worker: u16,
    ice: IceLite,
    /// Our DTLS role and the peer's SDP fingerprint; `None` until known.
    remote_dtls: Option<(DtlsRole, [u8; 32])>,
    cert: DtlsCertificate,
    dtls: Option<DtlsSession>,
    sctp: Option<SctpTransport>,
    srtp: Option<SrtpKeyingMaterial>,
    /// Decrypts what the peer sends / encrypts what we send, once DTLS is up.
    srtp_in: Option<SrtpContext>,
    srtp_out: Option<SrtpContext>,
    failed: bool,
    /// Another worker runs this transport's DTLS (it claimed it): this
    /// worker only redirects the transport's datagrams there.
    pub remote_owner: Option<u16>,
    /// This worker announced its ownership to the others.
    pub claimed: bool,
    /// Header-extension ids the peer negotiated: (rid, repaired rid).
    pub rid_ids: (u8, u8),
    /// Transport-wide sequence numbers (transport-cc extension id) and
    /// their arrival times, fed back to the publisher.
    twcc_id: u8,
    twcc: Option<Box<TwccRecorder>>,
    rid_waits: u8,
    seen_ssrcs: [u32; MAX_SEEN_SSRCS],
    /// Last packet of each seen SSRC, and whether it was reported stopped.
    seen_last: [Option<Instant>; MAX_SEEN_SSRCS],
    seen_stopped: [bool; MAX_SEEN_SSRCS],
    next_stall_check: Option<Instant>,
    /// Payload type and rid last seen per SSRC (index as `seen_ssrcs`).
    seen_pt: [u8; MAX_SEEN_SSRCS],
    seen_rid: [InlineStr<8>; MAX_SEEN_SSRCS],
    /// RTX SSRC -> media SSRC (RFC 4588), from SDP or rid/repaired-rid.
    rtx: [(u32, u32); MAX_RTX_PAIRS],
    rtx_len: usize,
    seen_repaired: [bool; MAX_SEEN_SSRCS],
    seen_len: usize,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("id", &self.id)
            .field("selected", &self.ice.selected())
            .field("dtls", &self.dtls.as_ref().map(|d| d.is_connected()))
            .field("failed", &self.failed)
            .finish()
    }
}

impl Transport {
    pub fn new(
        id: TransportId,
        worker: u16,
        ice: IceLite,
        cert: DtlsCertificate,
        remote_dtls: Option<(DtlsRole, [u8; 32])>,
    ) -> Self {
        Self {
            id,
            worker,
            ice,
            remote_dtls,
            cert,
            dtls: None,
            sctp: None,
            srtp: None,
            srtp_in: None,
            srtp_out: None,
            failed: false,
            remote_owner: None,
            claimed: false,
            rid_ids: (0, 0),
            twcc_id: 0,
            twcc: None,
            rid_waits: 0,
            seen_ssrcs: [0; MAX_SEEN_SSRCS],
            seen_last: [None; MAX_SEEN_SSRCS],
            seen_stopped: [false; MAX_SEEN_SSRCS],
            next_stall_check: None,
            seen_pt: [0; MAX_SEEN_SSRCS],
            seen_rid: [InlineStr::empty(); MAX_SEEN_SSRCS],
            rtx: [(0, 0); MAX_RTX_PAIRS],
            rtx_len: 0,
            seen_repaired: [false; MAX_SEEN_SSRCS],
            seen_len: 0,
        }
    }

    pub fn local_ufrag(&self) -> &[u8] {
        self.ice.local_ufrag()
    }

    pub fn selected(&self) -> Option<SocketAddr> {
        self.ice.selected()
    }

    /// Whether this worker started DTLS for the transport (it owns it).
    pub fn dtls_started(&self) -> bool {
        self.dtls.is_some()
    }

    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// SRTP keys once DTLS is connected (media forwarding uses them).
    pub fn srtp(&self) -> Option<&SrtpKeyingMaterial> {
        self.srtp.as_ref()
    }

    /// Whether `from` passed an ICE check: only such addresses get DTLS/RTP.
    pub fn accepts_from(&self, from: SocketAddr) -> bool {
        !self.failed && self.ice.is_valid_remote(from)
    }

    /// The peer's DTLS role/fingerprint became known (dual-PC answer).
    pub fn set_remote_dtls(
        &mut self,
        now: Instant,
        role: DtlsRole,
        fingerprint: [u8; 32],
        sink: &mut dyn TransportSink,
    ) {
        if self.dtls.is_some() {
            return;
        }
        self.remote_dtls = Some((role, fingerprint));
        self.maybe_start_dtls(now, sink);
    }

    /// The peer restarted ICE with a new ufrag (its checks name it).
    pub fn set_remote_ufrag(&mut self, remote_ufrag: &str) -> Result<(), IceError> {
        self.ice.set_remote_ufrag(remote_ufrag)
    }

    /// A STUN binding request for this transport.
    pub fn handle_stun(
        &mut self,
        now: Instant,
        from: SocketAddr,
        pkt: &[u8],
        sink: &mut dyn TransportSink,
    ) -> Result<bool, IceError> {
        let mut out = [0u8; STUN_OUT];
        let outcome = self.ice.handle_binding(now, from, pkt, &mut out)?;
        if let Some(resp) = out.get(..outcome.response_len) {
            sink.send(from, resp);
        }
        if let Some(ev) = outcome.event {
            self.on_ice_event(ev, sink);
        }
        self.maybe_start_dtls(now, sink);
        Ok(outcome.selected)
    }

    /// A DTLS record from `from` (already checked with `accepts_from`).
    pub fn handle_dtls(&mut self, now: Instant, pkt: &[u8], sink: &mut dyn TransportSink) {
        if self.dtls.is_none() {
            self.maybe_start_dtls(now, sink);
        }
        if let Some(d) = self.dtls.as_mut() {
            d.handle_packet(now, pkt);
        }
        self.drive(now, sink);
    }

    /// Decrypts an SRTP packet from the peer in place; returns the RTP length.
    pub fn unprotect_rtp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        match self.srtp_in.as_mut() {
            Some(c) => c.unprotect_rtp(buf),
            None => Err(SrtpError::Malformed),
        }
    }

    /// Decrypts an SRTCP packet from the peer in place; returns the RTCP length.
    pub fn unprotect_rtcp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        match self.srtp_in.as_mut() {
            Some(c) => c.unprotect_rtcp(buf),
            None => Err(SrtpError::Malformed),
        }
    }

    /// Encrypts `buf[..len]` (RTP) for the peer in place; returns where to
    /// send it and the protected length, or `None` if the transport has no
    /// selected address or keys yet (or `buf` has no room for the tag).
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Option<(SocketAddr, usize)> {
        let to = self.selected().filter(|_| !self.failed)?;
        let n = self.srtp_out.as_mut()?.protect_rtp(buf, len).ok()?;
        Some((to, n))
    }

    /// As [`Transport::protect_rtp`], for an RTCP packet.
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Option<(SocketAddr, usize)> {
        let to = self.selected().filter(|_| !self.failed)?;
        let n = self.srtp_out.as_mut()?.protect_rtcp(buf, len).ok()?;
        Some((to, n))
    }

    /// Whether media can be sent to the peer now.
    pub fn media_ready(&self) -> bool {
        !self.failed && self.srtp_out.is_some() && self.selected().is_some()
    }

    /// Queues `payload` as one binary message on this transport's channel of
    /// `kind` and sends what SCTP produces. Refused (nothing queued) when the
    /// channel is not open yet or its send buffer is full.
    pub fn send_data(
        &mut self,
        now: Instant,
        kind: ChannelKind,
        payload: &[u8],
        sink: &mut dyn TransportSink,
    ) -> Result<(), DataSendError> {
        if self.failed {
            return Err(DataSendError::NoAssociation);
        }
        channels::send_on_kind(self.sctp.as_mut(), kind, payload)?;
        self.drive(now, sink);
        Ok(())
    }

    /// A message from the peer: LiveKit's channels go to the control plane,
    /// anything else (an application's own channel) is dropped and counted.
    fn on_data_message(
        id: TransportId,
        sctp: &mut SctpTransport,
        label: &str,
        data: &[u8],
        sink: &mut dyn TransportSink,
    ) {
        match channels::kind_of_label(label) {
            Some(kind) => sink.data(id, kind, data),
            None => sctp.dropped += 1,
        }
    }

    /// `rtx_ssrc` carries retransmissions of `media_ssrc`.
    pub fn add_rtx_pair(&mut self, media_ssrc: u32, rtx_ssrc: u32) {
        if self.rtx[..self.rtx_len].iter().any(|(r, _)| *r == rtx_ssrc) {
            return;
        }
        if self.rtx_len < MAX_RTX_PAIRS {
            self.rtx[self.rtx_len] = (rtx_ssrc, media_ssrc);
            self.rtx_len += 1;
        }
    }

    /// If `pkt[..len]` is an RTX packet of a known pair, rewrites it in place
    /// into the original packet (media SSRC, original sequence number and
    /// payload type) and returns the new length; `Some(0)` for an RTX packet
    /// with no payload (a bandwidth probe); `None` if it is not RTX.
    pub fn unwrap_rtx(&self, pkt: &mut [u8], len: usize) -> Option<usize> {
        if len < 12 {
            return None;
        }
        let ssrc = u32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]]);
        let media = self.rtx[..self.rtx_len]
            .iter()
            .find(|(r, _)| *r == ssrc)
            .map(|(_, m)| *m)?;
        let seen = &self.seen_ssrcs[..self.seen_len];
        let media_pt = seen
            .iter()
            .position(|&s| s == media)
            .map(|i| self.seen_pt[i])?;
        let h = crate::rtp::RtpHeader::parse(pkt.get(..len)?).ok()?;
        let payload_end = len - h.padding;
        if payload_end < h.header_len + 2 {
            return Some(0);
        }
        let osn = u16::from_be_bytes([pkt[h.header_len], pkt[h.header_len + 1]]);
        pkt.copy_within(h.header_len + 2..len, h.header_len);
        pkt[1] = (pkt[1] & 0x80) | (media_pt & 0x7f);
        pkt[2..4].copy_from_slice(&osn.to_be_bytes());
        pkt[8..12].copy_from_slice(&media.to_be_bytes());
        Some(len - 2)
    }

    /// The peer negotiated transport-cc with extension `id` (0: not).
    pub fn set_twcc(&mut self, now: Instant, id: u8) {
        self.twcc_id = id;
        if id == 0 {
            self.twcc = None;
        } else if self.twcc.is_none() {
            self.twcc = Some(Box::new(TwccRecorder::new(now)));
        }
    }

    /// Notes the arrival of a decrypted RTP packet for congestion feedback.
    pub fn note_arrival(&mut self, now: Instant, pkt: &[u8]) {
        let Some(rec) = self.twcc.as_mut() else {
            return;
        };
        let Ok(h) = crate::rtp::RtpHeader::parse(pkt) else {
            return;
        };
        if let Some(&[a, b]) = crate::rtp::extension_value(pkt, &h, self.twcc_id) {
            rec.record(u16::from_be_bytes([a, b]), h.ssrc, now);
        }
    }

    /// Reports the first RTP packet of each publisher SSRC (after it
    /// authenticated) with its simulcast rid, so the control plane can
    /// publish its track and tell its layers apart.
    pub fn note_rtp_ssrc(&mut self, now: Instant, pkt: &[u8], sink: &mut dyn TransportSink) {
        if pkt.len() < 12 {
            return;
        }
        let ssrc = u32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]]);
        let seen = self.seen_ssrcs.get(..self.seen_len).unwrap_or(&[]);
        if let Some(i) = seen.iter().position(|&s| s == ssrc) {
            self.seen_last[i] = Some(now);
            if self.seen_stopped[i] {
                // Flowing again after a pause: report it once more.
                self.seen_stopped[i] = false;
                sink.event(Event::RtpStarted {
                    id: self.id,
                    ssrc,
                    payload_type: pkt[1] & 0x7f,
                    rid: InlineStr::empty(),
                    repaired: false,
                });
            }
            return;
        }
        if self.seen_len >= MAX_SEEN_SSRCS {
            return;
        }
        let Ok(h) = crate::rtp::RtpHeader::parse(pkt) else {
            return;
        };
        let (rid_id, rrid_id) = self.rid_ids;
        let (rid, repaired) = match crate::rtp::extension_value(pkt, &h, rid_id) {
            Some(r) => (r, false),
            None => match crate::rtp::extension_value(pkt, &h, rrid_id) {
                Some(r) => (r, true),
                None => (&[][..], false),
            },
        };
        // A layer without its rid yet is reported with the next packet that
        // carries it (libwebrtc sends rids on the first packets).
        if rid.is_empty() && rid_id != 0 && h.extension.is_some() && self.rid_waits < 8 {
            self.rid_waits += 1;
            return;
        }
        let i = self.seen_len;
        self.seen_ssrcs[i] = h.ssrc;
        self.seen_last[i] = Some(now);
        self.seen_pt[i] = h.payload_type;
        self.seen_len += 1;
        self.next_stall_check.get_or_insert(now + STALL_CHECK);
        let rid = std::str::from_utf8(rid)
            .ok()
            .and_then(InlineStr::new)
            .unwrap_or_else(InlineStr::empty);
        if !rid.as_bytes().is_empty() {
            self.seen_rid[i] = rid;
            self.seen_repaired[i] = repaired;
            // Simulcast RTX: the repaired-rid names the layer it repairs.
            let other = (0..self.seen_len)
                .find(|&j| j != i && self.seen_rid[j] == rid && self.seen_repaired[j] != repaired);
            if let Some(j) = other {
                let (media, rtx) = if repaired {
                    (self.seen_ssrcs[j], h.ssrc)
                } else {
                    (h.ssrc, self.seen_ssrcs[j])
                };
                self.add_rtx_pair(media, rtx);
            }
        }
        sink.event(Event::RtpStarted {
            id: self.id,
            ssrc: h.ssrc,
            payload_type: h.payload_type,
            rid,
            repaired,
        });
    }

    /// The earliest time `handle_timeout` must run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.ice.poll_timeout(),
            self.dtls.as_ref().and_then(|d| d.poll_timeout()),
            self.sctp.as_ref().and_then(|s| s.poll_timeout()),
            self.twcc.as_ref().and_then(|t| t.poll_timeout()),
            self.next_stall_check,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn handle_timeout(&mut self, now: Instant, sink: &mut dyn TransportSink) {
        if let Some(ev) = self.ice.handle_timeout(now) {
            self.on_ice_event(ev, sink);
        }
        if let Some(d) = self.dtls.as_mut() {
            if d.poll_timeout().is_some_and(|t| now >= t) {
                d.handle_timeout(now);
            }
        }
        if let Some(s) = self.sctp.as_mut() {
            if s.poll_timeout().is_some_and(|t| now >= t) {
                s.handle_timeout(now);
            }
        }
        if self
            .twcc
            .as_ref()
            .and_then(|t| t.poll_timeout())
            .is_some_and(|t| now >= t)
        {
            self.send_twcc(now, sink);
        }
        self.check_stalls(now, sink);
        self.drive(now, sink);
    }

    /// Reports publisher SSRCs that went quiet (`RtpStopped`).
    fn check_stalls(&mut self, now: Instant, sink: &mut dyn TransportSink) {
        if self.next_stall_check.is_none_or(|t| now < t) {
            return;
        }
        self.next_stall_check = Some(now + STALL_CHECK);
        let after = Duration::from_millis(RTP_STOPPED_AFTER_MS);
        for i in 0..self.seen_len {
            let quiet =
                self.seen_last[i].is_some_and(|t| now.saturating_duration_since(t) >= after);
            if quiet && !self.seen_stopped[i] {
                self.seen_stopped[i] = true;
                sink.event(Event::RtpStopped {
                    id: self.id,
                    ssrc: self.seen_ssrcs[i],
                });
            }
        }
    }

    fn send_twcc(&mut self, now: Instant, sink: &mut dyn TransportSink) {
        let mut buf = [0u8; 1500];
        let Some(rec) = self.twcc.as_mut() else {
            return;
        };
        let n = rec.build(now, 1, &mut buf[..1400]);
        if n == 0 {
            return;
        }
        if let Some((to, len)) = self.protect_rtcp(&mut buf, n) {
            sink.send(to, &buf[..len]);
        }
    }

    /// Ends the transport (control plane removed it).
    pub fn close(&mut self, sink: &mut dyn TransportSink) {
        if let Some(d) = self.dtls.as_mut() {
            d.close();
        }
        self.flush_dtls(sink);
        self.failed = true;
    }

    fn fail(&mut self, reason: FailReason, sink: &mut dyn TransportSink) {
        if !self.failed {
            self.failed = true;
            sink.event(Event::TransportFailed {
                id: self.id,
                reason,
            });
        }
    }

    fn on_ice_event(&mut self, ev: IceEvent, sink: &mut dyn TransportSink) {
        match ev {
            IceEvent::Connected { remote } => sink.event(Event::IceConnected {
                id: self.id,
                worker: self.worker,
                remote: WireAddr::from(remote),
            }),
            IceEvent::Disconnected => sink.event(Event::IceDisconnected { id: self.id }),
            IceEvent::Failed(reason) => self.fail(reason, sink),
        }
    }

    fn maybe_start_dtls(&mut self, now: Instant, sink: &mut dyn TransportSink) {
        if self.dtls.is_some() || self.failed || self.ice.selected().is_none() {
            return;
        }
        let Some((role, fingerprint)) = self.remote_dtls else {
            return;
        };
        self.dtls = Some(DtlsSession::new(role, &self.cert, fingerprint, now));
        self.drive(now, sink);
    }

    fn flush_dtls(&mut self, sink: &mut dyn TransportSink) {
        let (Some(d), Some(to)) = (self.dtls.as_mut(), self.ice.selected()) else {
            return;
        };
        while let Some(pkt) = d.poll_transmit() {
            sink.send(to, &pkt);
            d.recycle(pkt);
        }
    }

    /// Moves DTLS and SCTP output and events along until both are quiet.
    fn drive(&mut self, now: Instant, sink: &mut dyn TransportSink) {
        for _ in 0..64 {
            let mut progressed = false;
            while let Some(ev) = self.dtls.as_mut().and_then(|d| d.poll_event()) {
                progressed = true;
                match ev {
                    DtlsEvent::Connected { srtp } => {
                        self.srtp = Some(srtp);
                        match (
                            SrtpContext::new(srtp.profile(), srtp.remote()),
                            SrtpContext::new(srtp.profile(), srtp.local()),
                        ) {
                            (Ok(rx), Ok(tx)) => {
                                self.srtp_in = Some(rx);
                                self.srtp_out = Some(tx);
                            }
                            (Err(e), _) | (_, Err(e)) => {
                                tracing::warn!(transport = self.id.0, error = %e, "SRTP keys refused");
                            }
                        }
                        sink.event(Event::DtlsConnected { id: self.id });
                        let dtls_client = matches!(self.remote_dtls, Some((DtlsRole::Client, _)));
                        let mut sctp = SctpTransport::new(dtls_client);
                        if !dtls_client {
                            for (label, ordered, rexmit) in SERVER_CHANNELS {
                                sctp.open_channel(label, ordered, rexmit);
                            }
                        }
                        self.sctp = Some(sctp);
                    }
                    DtlsEvent::ApplicationData(data) => {
                        if let Some(s) = self.sctp.as_mut() {
                            s.handle_input(now, &data);
                        }
                    }
                    DtlsEvent::Failed(reason) => self.fail(reason, sink),
                    DtlsEvent::Closed => self.fail(FailReason::Closed, sink),
                }
            }
            if let (Some(s), Some(d)) = (self.sctp.as_mut(), self.dtls.as_mut()) {
                while let Some(pkt) = s.poll_transmit(now) {
                    progressed = true;
                    if d.send_application_data(&pkt).is_err() {
                        break;
                    }
                }
                while let Some(ev) = s.poll_event() {
                    progressed = true;
                    match ev {
                        SctpEvent::Connected => sink.event(Event::SctpConnected { id: self.id }),
                        SctpEvent::ChannelOpen { stream, label } => {
                            tracing::debug!(transport = self.id.0, stream, %label, "data channel open");
                        }
                        SctpEvent::Message { label, data, .. } => {
                            Self::on_data_message(self.id, s, &label, &data, sink);
                        }
                        SctpEvent::Closed => {}
                    }
                }
            }
            self.flush_dtls(sink);
            if !progressed {
                break;
            }
        }
    }
}

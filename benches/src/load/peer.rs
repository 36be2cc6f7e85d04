//! One simulated participant's media transport, sans-IO: the controlling
//! side of ICE against an ICE-lite server (a Binding Request with
//! USE-CANDIDATE until answered, then consent checks), DTLS in the role the
//! SDP gave us (client after `setup:active`, server after the usual
//! `actpass` offer answered `active`), and SRTP both ways once DTLS
//! exported keys.
//!
//! Built only from the dataplane's own pieces in their client roles
//! (`ice::stun::write_binding_request`, `DtlsSession`, `SrtpContext`). Contract as elsewhere: after each input drain
//! [`MediaPeer::poll_transmit`], then wait until [`MediaPeer::poll_timeout`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ringcast_dataplane::demux::PacketKind;
use ringcast_dataplane::dtls::{DtlsCertificate, DtlsEvent, DtlsSession};
use ringcast_dataplane::ice::stun::{
    binding_request_len, binding_success_transaction, write_binding_request, IntegrityKey,
};
use ringcast_dataplane::rtcp::{for_each_feedback, Feedback};
use ringcast_dataplane::srtp::{SrtpContext, SrtpError};
use ringcast_shared::records::DtlsRole;

/// How often an unanswered check is repeated (RFC 8445 Ta is 50 ms).
const CHECK_INTERVAL: Duration = Duration::from_millis(50);
/// Checks without an answer before ICE is declared failed.
const MAX_CHECKS: u32 = 200;
/// Consent freshness (RFC 7675): a check every few seconds keeps the
/// server's consent timer from expiring.
const CONSENT_INTERVAL: Duration = Duration::from_secs(2);
/// Distinct keyframe requests remembered between two looks.
const MAX_KEYFRAME_REQUESTS: usize = 16;
/// PRIORITY of our (host) candidate, as a browser computes it.
const HOST_PRIORITY: u32 = (126 << 24) | (65535 << 8) | 255;

/// Where the transport is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerState {
    /// Sending checks, no answer yet.
    Checking,
    /// ICE answered; DTLS handshake running.
    Handshaking,
    /// SRTP keys in place: media flows.
    Connected,
    /// ICE or DTLS gave up.
    Failed,
}

/// Why something could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// Media before DTLS exported the SRTP keys.
    #[error("not connected")]
    NotConnected,
    /// SRTP refused the packet.
    #[error("srtp: {0}")]
    Srtp(#[from] SrtpError),
}

/// What the server told us in its answer.
#[derive(Debug, Clone)]
pub struct RemoteIce {
    pub ufrag: String,
    pub pwd: String,
    pub fingerprint: [u8; 32],
}

/// What a received datagram turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// A decrypted RTP packet, now `buf[..len]`.
    Rtp(usize),
    /// Anything else (STUN, DTLS, RTCP): handled or dropped inside.
    Other,
    /// SRTP refused an RTP packet.
    SrtpError,
}

/// Counters, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerCounters {
    pub checks_sent: u64,
    pub checks_answered: u64,
    pub rtcp_received: u64,
    pub srtp_errors: u64,
}

/// One participant's ICE + DTLS + SRTP.
pub struct MediaPeer {
    state: PeerState,
    username: Vec<u8>,
    key: IntegrityKey,
    tie_breaker: u64,
    outstanding: Option<[u8; 12]>,
    unanswered: u32,
    next_check: Instant,
    cert: DtlsCertificate,
    remote_fingerprint: [u8; 32],
    role: DtlsRole,
    dtls: Option<DtlsSession>,
    srtp_tx: Option<SrtpContext>,
    srtp_rx: Option<SrtpContext>,
    transmits: VecDeque<Vec<u8>>,
    /// Media SSRCs a PLI or FIR asked a keyframe for, not yet taken.
    keyframe_requests: Vec<u32>,
    pub counters: PeerCounters,
}

impl MediaPeer {
    /// A peer that starts checking at `now`. `local_ufrag` is the ufrag
    /// our offer announced; `role` our DTLS role after the answer.
    pub fn new(
        local_ufrag: &str,
        remote: &RemoteIce,
        role: DtlsRole,
        cert: DtlsCertificate,
        now: Instant,
    ) -> Self {
        let mut peer = MediaPeer {
            state: PeerState::Checking,
            username: format!("{}:{}", remote.ufrag, local_ufrag).into_bytes(),
            key: IntegrityKey::new(remote.pwd.as_bytes()),
            tie_breaker: rand::random(),
            outstanding: None,
            unanswered: 0,
            next_check: now,
            cert,
            remote_fingerprint: remote.fingerprint,
            role,
            dtls: None,
            srtp_tx: None,
            srtp_rx: None,
            transmits: VecDeque::new(),
            keyframe_requests: Vec::new(),
            counters: PeerCounters::default(),
        };
        if role == DtlsRole::Server {
            // The server's ClientHello follows its answer to our first
            // check at once: be ready for it before that answer is read.
            peer.dtls = Some(DtlsSession::new(
                DtlsRole::Server,
                &peer.cert,
                peer.remote_fingerprint,
                now,
            ));
        }
        peer.handle_timeout(now);
        peer
    }

    /// Where the transport is.
    #[must_use]
    pub fn state(&self) -> PeerState {
        self.state
    }

    /// Whether media can flow.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.state == PeerState::Connected
    }

    /// The next datagram for the server.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    /// When to call [`Self::handle_timeout`] next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == PeerState::Failed {
            return None;
        }
        let dtls = self.dtls.as_ref().and_then(DtlsSession::poll_timeout);
        Some(match dtls {
            Some(d) if d < self.next_check => d,
            _ => self.next_check,
        })
    }

    /// Sends due checks and drives DTLS retransmission.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == PeerState::Failed {
            return;
        }
        if now >= self.next_check {
            if self.outstanding.is_some() {
                self.unanswered += 1;
                if self.unanswered >= MAX_CHECKS {
                    self.state = PeerState::Failed;
                    return;
                }
            }
            self.send_check();
            self.next_check = now
                + if self.state == PeerState::Checking {
                    CHECK_INTERVAL
                } else {
                    CONSENT_INTERVAL
                };
        }
        if let Some(d) = self.dtls.as_mut() {
            if d.poll_timeout().is_some_and(|t| now >= t) {
                d.handle_timeout(now);
            }
        }
        self.drain_dtls();
    }

    fn send_check(&mut self) {
        let txid: [u8; 12] = rand::random();
        let mut buf = vec![0u8; binding_request_len(self.username.len(), true)];
        match write_binding_request(
            &mut buf,
            &txid,
            &self.username,
            HOST_PRIORITY,
            self.tie_breaker,
            true,
            &self.key,
        ) {
            Ok(n) => {
                buf.truncate(n);
                self.outstanding = Some(txid);
                self.counters.checks_sent += 1;
                self.transmits.push_back(buf);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot write a STUN check");
                self.state = PeerState::Failed;
            }
        }
    }

    /// Feeds one datagram from the server. RTP is decrypted in place.
    pub fn handle_datagram(&mut self, now: Instant, buf: &mut [u8]) -> Received {
        match PacketKind::of(buf) {
            PacketKind::Stun => {
                if let Some(txid) = binding_success_transaction(buf) {
                    if self.outstanding == Some(txid) {
                        self.outstanding = None;
                        self.unanswered = 0;
                        self.counters.checks_answered += 1;
                        if self.state == PeerState::Checking {
                            self.ice_connected(now);
                        }
                    }
                }
                Received::Other
            }
            PacketKind::Dtls => {
                if let Some(d) = self.dtls.as_mut() {
                    d.handle_packet(now, buf);
                }
                self.drain_dtls();
                Received::Other
            }
            PacketKind::Rtp => match self.srtp_rx.as_mut().map(|s| s.unprotect_rtp(buf)) {
                Some(Ok(n)) => Received::Rtp(n),
                Some(Err(_)) => {
                    self.counters.srtp_errors += 1;
                    Received::SrtpError
                }
                None => Received::Other,
            },
            PacketKind::Rtcp => {
                self.counters.rtcp_received += 1;
                // Keyframe requests matter to video publishers: the server
                // sends a PLI when a subscriber's down-track waits for a
                // keyframe (new subscriber, simulcast layer switch).
                if let Some(Ok(n)) = self.srtp_rx.as_mut().map(|s| s.unprotect_rtcp(buf)) {
                    let wanted = &mut self.keyframe_requests;
                    let _ = for_each_feedback(&buf[..n], |fb| match fb {
                        Feedback::Pli { media_ssrc } | Feedback::Fir { media_ssrc }
                            if wanted.len() < MAX_KEYFRAME_REQUESTS
                                && !wanted.contains(&media_ssrc) =>
                        {
                            wanted.push(media_ssrc);
                        }
                        _ => {}
                    });
                }
                Received::Other
            }
            _ => Received::Other,
        }
    }

    fn ice_connected(&mut self, now: Instant) {
        if self.state == PeerState::Checking {
            self.state = PeerState::Handshaking;
        }
        self.next_check = now + CONSENT_INTERVAL;
        if self.role == DtlsRole::Client && self.dtls.is_none() {
            self.dtls = Some(DtlsSession::new(
                DtlsRole::Client,
                &self.cert,
                self.remote_fingerprint,
                now,
            ));
        }
        self.drain_dtls();
    }

    fn drain_dtls(&mut self) {
        let Some(d) = self.dtls.as_mut() else { return };
        while let Some(p) = d.poll_transmit() {
            self.transmits.push_back(p);
        }
        while let Some(ev) = d.poll_event() {
            match ev {
                DtlsEvent::Connected { srtp } => {
                    let profile = srtp.profile();
                    let tx = SrtpContext::new(profile, srtp.local());
                    let rx = SrtpContext::new(profile, srtp.remote());
                    match (tx, rx) {
                        (Ok(tx), Ok(mut rx)) => {
                            // LiveKit turns replay protection off (2.13); we
                            // keep it off too so duplicates reach the stats.
                            rx.set_replay_protection(false);
                            self.srtp_tx = Some(tx);
                            self.srtp_rx = Some(rx);
                            self.state = PeerState::Connected;
                        }
                        _ => self.state = PeerState::Failed,
                    }
                }
                DtlsEvent::ApplicationData(_) => {}
                DtlsEvent::Failed(reason) => {
                    tracing::warn!(?reason, "DTLS failed");
                    self.state = PeerState::Failed;
                }
                DtlsEvent::Closed => self.state = PeerState::Failed,
            }
        }
    }

    /// The media SSRCs the server asked keyframes for (PLI/FIR) since the
    /// last call.
    pub fn take_keyframe_requests(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.keyframe_requests)
    }

    /// Encrypts RTP `buf[..len]` in place (the buffer needs room for the
    /// tag); returns the SRTP length.
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, PeerError> {
        let tx = self.srtp_tx.as_mut().ok_or(PeerError::NotConnected)?;
        Ok(tx.protect_rtp(buf, len)?)
    }
}

//! One transport's DTLS association: a sans-IO wrapper around `dimpl` that
//! adds what WebRTC needs on top of plain DTLS.
//!
//! - The peer certificate must hash to the SDP fingerprint (RFC 8122), in
//!   both roles; anything else stops the session with
//!   [`FailReason::FingerprintMismatch`] before it reports `Connected`.
//! - `Connected` is only reported once the handshake finished, the peer
//!   certificate was verified and `use_srtp` produced keys.
//! - Any fatal error stops the session for good: nothing more is sent
//!   (except the fatal alert dimpl may have queued) or delivered, and
//!   [`DtlsSession::poll_timeout`] goes quiet.
//!
//! Contract (as in str0m and quinn-proto): after every call that feeds input
//! ([`DtlsSession::new`], [`DtlsSession::handle_packet`],
//! [`DtlsSession::handle_timeout`], [`DtlsSession::send_application_data`],
//! [`DtlsSession::close`]) drain [`DtlsSession::poll_transmit`] and
//! [`DtlsSession::poll_event`], then arm a timer for
//! [`DtlsSession::poll_timeout`].

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use dimpl::{Config, Dtls, Output};
use ringcast_shared::records::{DtlsRole, FailReason};

use super::cert::DtlsCertificate;
use super::fingerprint::sha256_fingerprint;
use super::srtp_keys::{SrtpKeyingMaterial, SrtpProfile};

/// Datagrams waiting for the driver beyond this are dropped (and counted):
/// a driver that stops polling must not make us grow without bound.
const MAX_QUEUED_TRANSMITS: usize = 64;
/// Decrypted records waiting for the caller beyond this are dropped (and counted).
const MAX_QUEUED_EVENTS: usize = 256;
/// Spare datagram buffers kept for reuse (see [`DtlsSession::recycle`]).
const MAX_SPARE_BUFFERS: usize = 8;
/// Largest output buffer we will grow to on `BufferTooSmall` (a UDP datagram).
const MAX_OUTPUT_BUFFER: usize = 65_535;
/// Start size of the output buffer: dimpl's MTU (1150) fits with room to spare.
const OUTPUT_BUFFER: usize = 2048;

/// What a session reports to its transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtlsEvent {
    /// Handshake done, peer certificate matched the SDP fingerprint, SRTP keys
    /// exported. Reported once.
    Connected {
        /// The negotiated SRTP profile and master keys, split by our role.
        srtp: SrtpKeyingMaterial,
    },
    /// A decrypted application data record (an SCTP packet).
    ApplicationData(Vec<u8>),
    /// The session stopped: handshake failure or timeout
    /// ([`FailReason::DtlsFailed`]) or a certificate that does not match the
    /// SDP ([`FailReason::FingerprintMismatch`]). Reported once, last.
    Failed(FailReason),
    /// The peer sent close_notify. Reported once, last.
    Closed,
}

/// Errors from calls that send.
#[derive(Debug, thiserror::Error)]
pub enum DtlsError {
    /// Application data before the handshake completed.
    #[error("DTLS handshake not complete")]
    NotConnected,
    /// The session failed or was closed; it sends nothing more.
    #[error("DTLS session stopped")]
    Stopped,
    /// dimpl refused the record; the session is now failed.
    #[error("DTLS error: {0}")]
    Dtls(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshaking,
    Connected,
    Failed,
    Closed,
}

/// Counters a worker can export; they only ever grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DtlsSessionStats {
    /// Datagrams fed in after the session stopped.
    pub ignored_after_stop: u64,
    /// Outgoing datagrams dropped because the transmit queue was full.
    pub dropped_transmits: u64,
    /// Decrypted records dropped because the event queue was full.
    pub dropped_events: u64,
}

/// The process-wide dimpl configuration, built once.
///
/// - Client certificates are required: WebRTC is mutually authenticated.
/// - No HelloVerifyRequest cookie: DTLS is only accepted from an address that
///   passed an ICE check (consent is our return-routability proof), and the
///   cookie would cost a round trip on every join. Browsers' own DTLS servers
///   skip it for the same reason.
fn shared_config() -> Result<Arc<Config>, String> {
    static CONFIG: OnceLock<Result<Arc<Config>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            Config::builder()
                .require_client_certificate(true)
                .use_server_cookie(false)
                .build()
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
}

/// DTLS 1.2 for one transport, in either role.
pub struct DtlsSession {
    dtls: Dtls,
    role: DtlsRole,
    expected_fingerprint: [u8; 32],
    phase: Phase,
    peer_verified: bool,
    handshake_done: bool,
    srtp: Option<SrtpKeyingMaterial>,
    out_buf: Vec<u8>,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<DtlsEvent>,
    spare: Vec<Vec<u8>>,
    timeout: Option<Instant>,
    stats: DtlsSessionStats,
}

impl DtlsSession {
    /// A session for one transport. `expected_peer_fingerprint` is the
    /// SHA-256 from the peer's `a=fingerprint:sha-256`.
    ///
    /// As [`DtlsRole::Client`] the ClientHello is ready in
    /// [`Self::poll_transmit`] on return; as [`DtlsRole::Server`] the session
    /// waits for one.
    pub fn new(
        role: DtlsRole,
        cert: &DtlsCertificate,
        expected_peer_fingerprint: [u8; 32],
        now: Instant,
    ) -> Self {
        let config = shared_config();
        let dtls_config = match &config {
            Ok(c) => Arc::clone(c),
            // Unreachable with dimpl's built-in provider; still, fail the
            // session instead of panicking the worker.
            Err(_) => Arc::new(Config::default()),
        };
        let mut dtls = Dtls::new_12(dtls_config, cert.to_dimpl(), now);
        if role == DtlsRole::Client {
            dtls.set_active(true);
        }
        let mut session = Self {
            dtls,
            role,
            expected_fingerprint: expected_peer_fingerprint,
            phase: Phase::Handshaking,
            peer_verified: false,
            handshake_done: false,
            srtp: None,
            out_buf: vec![0; OUTPUT_BUFFER],
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            spare: Vec::new(),
            timeout: None,
            stats: DtlsSessionStats::default(),
        };
        if let Err(e) = config {
            tracing::error!(error = %e, "DTLS configuration invalid");
            session.fail(FailReason::DtlsFailed);
            return session;
        }
        // dimpl needs the clock before its first packet (the server picks its
        // random there); the client sends its ClientHello here.
        session.advance(now);
        session
    }

    /// Our DTLS role.
    pub fn role(&self) -> DtlsRole {
        self.role
    }

    /// True between `Connected` and a failure or close.
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Connected
    }

    /// True once the session failed or was closed by either side.
    pub fn is_stopped(&self) -> bool {
        matches!(self.phase, Phase::Failed | Phase::Closed)
    }

    /// The SRTP keys, once connected.
    pub fn srtp(&self) -> Option<&SrtpKeyingMaterial> {
        self.srtp
            .as_ref()
            .filter(|_| self.phase == Phase::Connected)
    }

    /// Counters since creation.
    pub fn stats(&self) -> DtlsSessionStats {
        self.stats
    }

    /// Feeds one datagram that the demultiplexer classified as DTLS
    /// (first byte 20..=63, RFC 7983). Malformed or replayed records are
    /// dropped inside; only a fatal protocol error stops the session.
    pub fn handle_packet(&mut self, now: Instant, datagram: &[u8]) {
        if self.is_stopped() {
            self.stats.ignored_after_stop += 1;
            return;
        }
        // dimpl reads time only through handle_timeout: refresh it first.
        if let Err(e) = self.dtls.handle_timeout(now) {
            self.fail_with(&e);
            return;
        }
        if let Err(e) = self.dtls.handle_packet(datagram) {
            self.fail_with(&e);
            return;
        }
        self.drain();
    }

    /// Drives retransmission and the handshake deadline. Call at or after
    /// [`Self::poll_timeout`]; calling early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_stopped() {
            return;
        }
        self.advance(now);
    }

    /// Encrypts one application data record (an SCTP packet) for the peer.
    pub fn send_application_data(&mut self, data: &[u8]) -> Result<(), DtlsError> {
        match self.phase {
            Phase::Connected => {}
            Phase::Handshaking => return Err(DtlsError::NotConnected),
            Phase::Failed | Phase::Closed => return Err(DtlsError::Stopped),
        }
        if let Err(e) = self.dtls.send_application_data(data) {
            let message = e.to_string();
            self.fail_with(&e);
            return Err(DtlsError::Dtls(message));
        }
        self.drain();
        Ok(())
    }

    /// Sends close_notify (if the handshake got that far) and stops the
    /// session. No event is reported for a close we started.
    pub fn close(&mut self) {
        if self.is_stopped() {
            return;
        }
        if self.phase == Phase::Connected {
            // An error here only means there is nothing left to tell the peer.
            if self.dtls.close().is_ok() {
                self.drain();
            }
        }
        self.phase = Phase::Closed;
        self.timeout = None;
    }

    /// The next datagram to send to the peer, oldest first. Give the buffer
    /// back with [`Self::recycle`] to spare an allocation.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    /// Returns a buffer from [`Self::poll_transmit`] for reuse.
    pub fn recycle(&mut self, mut buffer: Vec<u8>) {
        if self.spare.len() < MAX_SPARE_BUFFERS {
            buffer.clear();
            self.spare.push(buffer);
        }
    }

    /// The next event, oldest first. `Failed` and `Closed` are always last.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<DtlsEvent> {
        self.events.pop_front()
    }

    /// When to call [`Self::handle_timeout`]; `None` once stopped.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_stopped() {
            None
        } else {
            self.timeout
        }
    }

    fn advance(&mut self, now: Instant) {
        if let Err(e) = self.dtls.handle_timeout(now) {
            self.fail_with(&e);
            return;
        }
        self.drain();
    }

    /// Empties dimpl's output. dimpl's state is only consistent after it
    /// reports `Timeout`, so this always runs to the end, even when we stop
    /// midway (later output is then discarded).
    fn drain(&mut self) {
        let mut buf = std::mem::take(&mut self.out_buf);
        loop {
            match self.dtls.poll_output(&mut buf) {
                Output::Packet(p) => self.queue_transmit(p),
                Output::BufferTooSmall { needed } => {
                    if needed > MAX_OUTPUT_BUFFER || needed <= buf.len() {
                        tracing::warn!(needed, "DTLS output larger than a datagram");
                        self.fail(FailReason::DtlsFailed);
                        break;
                    }
                    buf.resize(needed, 0);
                }
                Output::Timeout(t) => {
                    self.timeout = Some(t);
                    break;
                }
                Output::Connected => {
                    self.handshake_done = true;
                    self.try_connect();
                }
                Output::PeerCert(der) => self.verify_peer(der),
                Output::KeyingMaterial(material, profile) => self.set_keys(&material, profile),
                Output::ApplicationData(data) => self.deliver(data),
                Output::CloseNotify if !self.is_stopped() => {
                    self.phase = Phase::Closed;
                    self.timeout = None;
                    self.push_event(DtlsEvent::Closed);
                }
                _ => {}
            }
        }
        self.out_buf = buf;
        if self.phase == Phase::Handshaking && self.handshake_done {
            // dimpl finished but something WebRTC needs is missing.
            if !self.peer_verified {
                tracing::warn!("DTLS finished without a peer certificate");
                self.fail(FailReason::FingerprintMismatch);
            } else if self.srtp.is_none() {
                tracing::warn!("DTLS finished without use_srtp keys");
                self.fail(FailReason::DtlsFailed);
            }
        }
    }

    fn queue_transmit(&mut self, datagram: &[u8]) {
        if self.is_stopped() && self.phase != Phase::Closed {
            return;
        }
        if self.transmits.len() >= MAX_QUEUED_TRANSMITS {
            self.stats.dropped_transmits += 1;
            return;
        }
        let mut out = self.spare.pop().unwrap_or_default();
        out.extend_from_slice(datagram);
        self.transmits.push_back(out);
    }

    fn verify_peer(&mut self, der: &[u8]) {
        if self.is_stopped() {
            return;
        }
        if sha256_fingerprint(der) == self.expected_fingerprint {
            self.peer_verified = true;
            self.try_connect();
        } else {
            tracing::warn!(role = ?self.role, "DTLS peer certificate does not match SDP fingerprint");
            self.fail(FailReason::FingerprintMismatch);
        }
    }

    fn set_keys(&mut self, material: &[u8], profile: dimpl::SrtpProfile) {
        if self.is_stopped() {
            return;
        }
        let keys = SrtpProfile::from_dimpl(profile)
            .and_then(|p| SrtpKeyingMaterial::new(p, self.role, material).ok());
        match keys {
            Some(keys) => {
                self.srtp = Some(keys);
                self.try_connect();
            }
            None => {
                tracing::warn!(
                    ?profile,
                    len = material.len(),
                    "unusable SRTP keying material"
                );
                self.fail(FailReason::DtlsFailed);
            }
        }
    }

    fn try_connect(&mut self) {
        if self.phase != Phase::Handshaking || !self.handshake_done || !self.peer_verified {
            return;
        }
        if let Some(srtp) = self.srtp {
            self.phase = Phase::Connected;
            self.push_event(DtlsEvent::Connected { srtp });
        }
    }

    fn deliver(&mut self, data: &[u8]) {
        if self.phase != Phase::Connected {
            return;
        }
        if self.events.len() >= MAX_QUEUED_EVENTS {
            self.stats.dropped_events += 1;
            return;
        }
        self.push_event(DtlsEvent::ApplicationData(data.to_vec()));
    }

    fn push_event(&mut self, event: DtlsEvent) {
        self.events.push_back(event);
    }

    fn fail_with(&mut self, error: &dimpl::Error) {
        if self.is_stopped() {
            return;
        }
        tracing::debug!(role = ?self.role, %error, "DTLS failed");
        let reason = match error {
            dimpl::Error::ConnectionClosed => {
                self.phase = Phase::Closed;
                self.timeout = None;
                self.push_event(DtlsEvent::Closed);
                return;
            }
            _ => FailReason::DtlsFailed,
        };
        self.fail(reason);
        self.flush_alert();
    }

    /// After a fatal error dimpl may have queued an alert (e.g.
    /// handshake_failure). Sending it lets the peer give up at once instead
    /// of retransmitting until its own timeout; anything else is discarded.
    fn flush_alert(&mut self) {
        const ALERT: u8 = 21;
        let mut buf = std::mem::take(&mut self.out_buf);
        // Bounded: dimpl ends every poll cycle with Timeout, this only guards
        // against an engine that no longer does after an error.
        for _ in 0..16 {
            match self.dtls.poll_output(&mut buf) {
                Output::Packet(p)
                    if p.first() == Some(&ALERT) && self.transmits.len() < MAX_QUEUED_TRANSMITS =>
                {
                    let mut out = self.spare.pop().unwrap_or_default();
                    out.extend_from_slice(p);
                    self.transmits.push_back(out);
                }
                Output::Timeout(_) | Output::BufferTooSmall { .. } => break,
                _ => {}
            }
        }
        self.out_buf = buf;
    }

    /// Stops for good: drops what was not yet sent, reports `reason` last.
    fn fail(&mut self, reason: FailReason) {
        if self.is_stopped() {
            return;
        }
        self.phase = Phase::Failed;
        self.timeout = None;
        self.transmits.clear();
        self.push_event(DtlsEvent::Failed(reason));
    }
}

impl std::fmt::Debug for DtlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtlsSession")
            .field("role", &self.role)
            .field("phase", &self.phase)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

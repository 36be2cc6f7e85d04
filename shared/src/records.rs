//! The records that travel between the planes. Fixed-size, `Copy`, `repr(C)`:
//! they are written straight into shared-memory ring slots, so they hold no
//! pointers and no heap data. Bump [`RECORDS_VERSION`] on any layout change;
//! the ring header carries it and a mismatched peer refuses to attach.

use std::net::SocketAddr;

/// Layout version of [`Command`] and [`Event`] and of the shared region
/// (2: per-worker stats blocks after the rings, see `crate::stats`;
/// 4: down-track forwarding commands and keyframe/audio-level events;
/// 5: per-worker data-in/data-out rings of `crate::data_ring::DataRecord`;
/// 6: rid on `RtpStarted`; 7: `RtpStopped`; 8: `SetRtxPair`;
/// 9: 48 stat slots per worker, turn busy-time histogram).
pub const RECORDS_VERSION: u32 = 11;
/// How often a worker reports [`Event::LinkQuality`] for a transport with
/// media.
pub const LINK_QUALITY_WINDOW_MS: u64 = 1000;

/// Identifies one ICE/DTLS transport (one PeerConnection of one participant)
/// across both planes. Chosen by the control plane, never reused while live.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[repr(transparent)]
pub struct TransportId(pub u64);

/// A short byte string stored inline (ICE ufrag/pwd).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct InlineStr<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> InlineStr<N> {
    /// `None` when `s` is longer than `N` (or 255) bytes.
    pub fn new(s: &str) -> Option<Self> {
        if s.len() > N || s.len() > u8::MAX as usize {
            return None;
        }
        let mut bytes = [0u8; N];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Some(Self {
            len: s.len() as u8,
            bytes,
        })
    }
    /// The empty string.
    pub fn empty() -> Self {
        Self {
            len: 0,
            bytes: [0; N],
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..(self.len as usize).min(N)]
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl<const N: usize> std::fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// Which DTLS role the server plays on a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum DtlsRole {
    /// We answered `a=setup:active`: we send the ClientHello.
    Client = 0,
    /// The peer answered our offer with `a=setup:active`.
    Server = 1,
}

/// The peer's certificate fingerprint from its SDP (`a=fingerprint:sha-256 ..`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Fingerprint {
    /// Only SHA-256 is accepted (every browser and libwebrtc sends it).
    pub sha256: [u8; 32],
}

/// An IPv4 or IPv6 socket address in a fixed layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct WireAddr {
    /// 4 or 6.
    pub family: u8,
    pub port: u16,
    pub ip: [u8; 16],
}

impl From<SocketAddr> for WireAddr {
    fn from(a: SocketAddr) -> Self {
        let mut ip = [0u8; 16];
        match a {
            SocketAddr::V4(v4) => {
                ip[..4].copy_from_slice(&v4.ip().octets());
                WireAddr {
                    family: 4,
                    port: v4.port(),
                    ip,
                }
            }
            SocketAddr::V6(v6) => {
                ip.copy_from_slice(&v6.ip().octets());
                WireAddr {
                    family: 6,
                    port: v6.port(),
                    ip,
                }
            }
        }
    }
}

impl From<WireAddr> for SocketAddr {
    fn from(w: WireAddr) -> Self {
        if w.family == 4 {
            SocketAddr::from(([w.ip[0], w.ip[1], w.ip[2], w.ip[3]], w.port))
        } else {
            SocketAddr::from((w.ip, w.port))
        }
    }
}

/// What a forwarded stream carries; decides keyframe requests and caching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MediaKind {
    Audio = 0,
    Video = 1,
}

/// The codec of a forwarded stream, as far as the forwarder cares
/// (keyframe detection for video, caching for retransmission).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CodecId {
    Opus = 0,
    Vp8 = 1,
    Vp9 = 2,
    H264 = 3,
    Av1 = 4,
    H265 = 5,
    /// Anything else (PCMU, PCMA, RED...): forwarded without inspection.
    Other = 255,
}

impl CodecId {
    /// From a mime type such as `video/VP8` or `audio/opus` (case-insensitive).
    pub fn from_mime(mime: &str) -> Self {
        let sub = mime.rsplit('/').next().unwrap_or(mime).to_ascii_lowercase();
        match sub.as_str() {
            "opus" => CodecId::Opus,
            "vp8" => CodecId::Vp8,
            "vp9" => CodecId::Vp9,
            "h264" => CodecId::H264,
            "av1" => CodecId::Av1,
            "h265" => CodecId::H265,
            _ => CodecId::Other,
        }
    }
}

/// One forwarded stream: the publisher's SSRC on its transport, sent to a
/// subscriber's transport under our own SSRC and the subscriber's payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct DownTrackSpec {
    /// The publisher's transport and the media SSRC it sends.
    pub source: TransportId,
    pub source_ssrc: u32,
    /// The publisher's payload type for the codec; other payload types on
    /// that SSRC are not forwarded.
    pub source_pt: u8,
    /// The subscriber's transport.
    pub sink: TransportId,
    /// The SSRC announced to the subscriber in SDP (`a=ssrc`).
    pub ssrc: u32,
    /// The subscriber's payload type for the same codec.
    pub payload_type: u8,
    pub kind: MediaKind,
    /// The track's codec (`CodecId::from_mime` of the publisher's mime type).
    pub codec: CodecId,
}

/// Silence after which a publisher SSRC is reported stopped.
pub const RTP_STOPPED_AFTER_MS: u64 = 1500;

/// Control plane -> worker. Every worker gets every transport command: the
/// kernel's SO_REUSEPORT hash, not the control plane, decides which worker a
/// client's 5-tuple lands on, and that worker binds the transport.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, u8)]
pub enum Command {
    /// Accept ICE checks for `local_ufrag`/`local_pwd` and, once a 5-tuple is
    /// nominated, run DTLS in `role`, checking the peer against `fingerprint`.
    AddTransport {
        id: TransportId,
        local_ufrag: InlineStr<32>,
        local_pwd: InlineStr<64>,
        remote_ufrag: InlineStr<64>,
        role: DtlsRole,
        fingerprint: Fingerprint,
    },
    /// The peer's fingerprint/role became known later (dual-PC subscriber
    /// transport: our offer went first, the answer carries them).
    SetRemoteDtls {
        id: TransportId,
        role: DtlsRole,
        fingerprint: Fingerprint,
    },
    /// The peer restarted ICE (a resume re-offer carries a new ufrag):
    /// accept its checks under `remote_ufrag` from now on. Our own
    /// credentials, the selected address and the DTLS session stay, so media
    /// keeps flowing while the client re-checks.
    SetRemoteIce {
        id: TransportId,
        remote_ufrag: InlineStr<64>,
    },
    /// Tear the transport down and forget it (and every down-track from or
    /// to it).
    RemoveTransport { id: TransportId },
    /// Start forwarding a publisher stream to a subscriber (sent once the
    /// subscriber's SDP announces `spec.ssrc`). Every worker gets it: the
    /// publisher's worker decrypts, the subscriber's worker encrypts.
    AddDownTrack { spec: DownTrackSpec },
    /// Switch an existing down-track to another source SSRC of the same
    /// track (a simulcast layer), at the next keyframe, keeping the
    /// subscriber's sequence numbers and timestamps continuous.
    SwitchDownTrack {
        sink: TransportId,
        ssrc: u32,
        source_ssrc: u32,
        source_pt: u8,
    },
    /// The RTP header-extension ids the peer negotiated on this transport
    /// (one BUNDLE transport maps each URI to one id); 0 = not negotiated.
    SetRtpExtensions {
        id: TransportId,
        audio_level: u8,
        mid: u8,
        rid: u8,
        repaired_rid: u8,
        transport_cc: u8,
        abs_send_time: u8,
    },
    /// On transport `id`, `rtx_ssrc` carries retransmissions (RFC 4588) of
    /// `media_ssrc` (from the SDP's `a=ssrc-group:FID`); the worker unwraps
    /// them into the original packets.
    SetRtxPair {
        id: TransportId,
        media_ssrc: u32,
        rtx_ssrc: u32,
    },
    /// Stop forwarding to `sink`'s down-track `ssrc`.
    RemoveDownTrack { sink: TransportId, ssrc: u32 },
    /// Ask the worker to stop its loop.
    Shutdown,
}

/// Why a transport ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FailReason {
    /// No ICE check (consent) for the failed timeout.
    ConsentTimeout = 0,
    /// DTLS handshake failed.
    DtlsFailed = 1,
    /// The peer certificate did not match the SDP fingerprint.
    FingerprintMismatch = 2,
    /// The peer closed DTLS (close_notify).
    Closed = 3,
}

/// Worker -> control plane.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, u8)]
pub enum Event {
    /// A check with USE-CANDIDATE nominated `remote` for this transport.
    IceConnected {
        id: TransportId,
        worker: u16,
        remote: WireAddr,
    },
    /// No consent check for ~10 s (may still recover).
    IceDisconnected { id: TransportId },
    /// DTLS handshake done, fingerprint verified, SRTP keys exported.
    DtlsConnected { id: TransportId },
    /// The SCTP association over DTLS is up.
    SctpConnected { id: TransportId },
    /// The transport is gone; the control plane should clean up.
    TransportFailed { id: TransportId, reason: FailReason },
    /// No RTP of `ssrc` for [`RTP_STOPPED_AFTER_MS`] (a simulcast layer the
    /// publisher paused, or a muted/ended stream). When it flows again the
    /// worker reports `RtpStarted` for it once more.
    RtpStopped { id: TransportId, ssrc: u32 },
    /// The audio level (RFC 6464 header extension) of a publisher's audio
    /// SSRC over the last window (~100 ms), for active-speaker detection.
    /// `level` is linear, 0.0 (silence, 127 dBov) to 1.0 (0 dBov), averaged
    /// over the packets; `voiced` is how many of them were at least as loud
    /// as -30 dBov (LiveKit's speaking threshold); `packets` how many carried
    /// the extension.
    AudioLevel {
        id: TransportId,
        ssrc: u32,
        level: f32,
        voiced: u16,
        packets: u16,
    },
    /// How a transport's media fared over the last [`LINK_QUALITY_WINDOW_MS`],
    /// for connection-quality scoring. Upstream: packets the peer sent us
    /// (`up_expected` from sequence numbers, `up_lost` of them never
    /// arrived, retransmissions counting as arrived). Downstream: the worst
    /// loss (`down_loss`, fraction of 256) and jitter the peer reported about
    /// our streams in its receiver reports.
    LinkQuality {
        id: TransportId,
        up_expected: u32,
        up_lost: u32,
        down_loss: u8,
        down_jitter_ms: u16,
        /// Receiver-report blocks seen in the window (0: nothing known
        /// about the downstream direction).
        down_reports: u16,
    },
    /// The first RTP packet of `ssrc` arrived on an established transport:
    /// the control plane turns a pending track into a published one.
    RtpStarted {
        id: TransportId,
        ssrc: u32,
        payload_type: u8,
        /// The simulcast rid (`q`/`h`/`f`) from the rid header extension,
        /// empty if the packet carried none.
        rid: InlineStr<8>,
        /// True if the rid came in the repaired-rid extension: this SSRC is
        /// the RTX stream of that layer.
        repaired: bool,
    },
}

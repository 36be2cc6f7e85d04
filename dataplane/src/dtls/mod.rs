//! DTLS 1.2 for WebRTC transports, in both roles (RFC 6347, RFC 5763, RFC 5764).
//!
//! Every transport gets one [`DtlsSession`]: a sans-IO state machine that takes
//! datagrams and an explicit `Instant` and hands back datagrams to send, the
//! next timer, and [`DtlsEvent`]s. It checks the peer certificate against the
//! SHA-256 fingerprint from the peer's SDP in both roles (the server always
//! requests a client certificate, as WebRTC requires), negotiates `use_srtp`
//! and exports the SRTP master keys ([`SrtpKeyingMaterial`]). Application data
//! (SCTP packets for data channels) rides on the same session.
//!
//! # Why `dimpl`
//!
//! The design card allowed `rtc-dtls` (webrtc-rs's sans-IO DTLS) or `dimpl`
//! (str0m's sans-IO DTLS). Both were driven through the same in-memory
//! handshake (mutual ECDSA P-256 certificates, extended master secret, use_srtp),
//! 100 handshakes each, dev profile with dependencies at opt-level 1:
//!
//! | crate          | one full handshake, both sides |
//! |----------------|--------------------------------|
//! | `dimpl` 0.9    | 1.08 ms                        |
//! | `rtc-dtls` 0.21| 1.22 ms                        |
//!
//! Speed is a wash, so the choice is by fit: `dimpl` is one object per
//! association (exactly our one session per transport), writes output into a
//! caller-supplied buffer instead of allocating a `BytesMut` per datagram,
//! reads no clock, is `forbid(unsafe_code)`, and is what str0m runs in
//! production against browsers. `rtc-dtls` wraps associations in an
//! `Endpoint` keyed by `SocketAddr` (we already demultiplex per transport),
//! allocates per record, and pulls in rustls and rkyv. Its one advantage, a
//! configurable list of SRTP profiles, we do not need: `dimpl` offers and
//! accepts AEAD_AES_256_GCM, AEAD_AES_128_GCM and AES128_CM_HMAC_SHA1_80, and
//! as server prefers them in that order (GCM first, as browsers do).
//! `rtc-dtls` stays as a dev-dependency: the independent peer our tests
//! handshake against.
//!
//! Crypto is `dimpl`'s default AWS-LC provider (fast ECDHE/ECDSA, the
//! handshake is the CPU cost of a join storm); certificates come from rcgen
//! through `dimpl`.

mod cert;
mod fingerprint;
mod session;
mod srtp_keys;

pub use cert::{CertificateError, DtlsCertificate};
pub use fingerprint::{format_fingerprint, parse_fingerprint, sha256_fingerprint};
pub use session::{DtlsError, DtlsEvent, DtlsSession, DtlsSessionStats};
pub use srtp_keys::{SrtpKeySalt, SrtpKeyingMaterial, SrtpKeysError, SrtpProfile};

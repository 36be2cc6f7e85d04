//! SCTP over DTLS for WebRTC data channels (RFC 8831), sans-IO.
//!
//! `association.rs` drives one `sctp-proto` association per transport (the
//! crate str0m uses: deterministic, no I/O, explicit time); `dcep.rs` is the
//! channel-open handshake on top; `channels.rs` picks and bounds the
//! LiveKit channel a message of a given kind goes out on. Bytes in are DTLS
//! application data, bytes out go back into the same DTLS session.

mod association;
pub mod channels;
pub mod dcep;

pub use association::*;

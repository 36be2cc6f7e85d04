//! SDP for the LiveKit signalling: parsing client descriptions, answering
//! client offers and writing our own subscriber offers. Pure functions and
//! plain state, no I/O.
//!
//! The server is ICE-lite with one host candidate per advertised address on a
//! single UDP mux port; everything is bundled with rtcp-mux.
//!
//! - [`parse()`] reads a Chrome/libwebrtc offer or answer into a
//!   [`SessionDescription`].
//! - [`build_answer`] answers the `/rtc` publisher offer and the `/rtc/v1`
//!   single-PC offer (`a=setup:active`: we are the DTLS client).
//! - [`SubscriberSession`] writes the `/rtc` subscriber offers
//!   (`a=setup:actpass`), keeping mids stable.
//! - [`HostCandidate`] and [`CandidateInit`] are the `a=candidate` lines and
//!   the trickle JSON.

pub mod answer;
pub mod candidate;
pub mod codecs;
pub mod error;
pub mod extensions;
pub mod model;
pub mod offer;
pub mod opus;
pub mod parse;
mod write;

pub use answer::{
    build_answer, remote_transport, Answer, AnswerOptions, DtlsRole, NegotiatedMedia, OpusAnswer,
    PublishedMedia, RemoteTransport,
};
pub use candidate::{Candidate, CandidateInit, HostCandidate};
pub use error::SdpError;
pub use model::*;
pub use offer::{dtls_role_from_answer, SubscriberSession};
pub use parse::parse;
pub use write::{fingerprint_hex, LocalTransport, OutgoingTrack};

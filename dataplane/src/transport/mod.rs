//! One WebRTC transport (one PeerConnection of one participant) inside a
//! worker: ICE-lite, then DTLS, then SCTP, chained as sans-IO state machines.
//!
//! `transport.rs` is the chain for one transport; `set.rs` owns every
//! transport of a worker, applies control-plane commands and routes each
//! datagram to its transport (nominated 5-tuple first, STUN by ufrag, nothing
//! else).

mod set;
#[allow(clippy::module_inception)]
mod transport;

pub use set::*;
pub use transport::*;

//! One WebRTC transport (one PeerConnection of one participant) inside a
//! worker: ICE-lite, then DTLS, then SCTP, chained as sans-IO state machines.
//!
//! `transport.rs` is the chain for one transport; `set.rs` owns every
//! transport of a worker, applies control-plane commands and routes each
//! datagram to its transport (nominated 5-tuple first, STUN by ufrag, nothing
//! else). `timers.rs` keeps their deadlines in a heap so a loop turn only
//! touches the transports that are due or changed.

mod set;
pub mod timers;
#[allow(clippy::module_inception)]
mod transport;

pub use set::*;
pub use transport::*;

//! ICE-lite (RFC 8445 section 2.5) for the dataplane: STUN Binding checks
//! answered per transport, consent freshness (RFC 7675), and the worker's
//! table that routes a datagram to its transport by address or ufrag.
//!
//! A worker uses it like this: look the source address up in
//! [`TransportTable::by_addr`]; if unbound and the packet is STUN, find the
//! transport by [`stun::username_ufrag`] and [`TransportTable::by_ufrag`];
//! hand the datagram to that transport's [`IceLite::handle_binding`], send
//! the response, and bind the address on success. DTLS and media are only
//! accepted from addresses for which [`IceLite::is_valid_remote`] holds.

pub mod consent;
pub mod ice_lite;
pub mod stun;
pub mod table;

pub use consent::ConsentTimeouts;
pub use ice_lite::{
    IceCounters, IceError, IceEvent, IceLite, IceOutcome, IceState, MAX_VALID_REMOTES,
};
pub use stun::{username_ufrag, StunError};
pub use table::{TableError, TransportIndex, TransportTable};

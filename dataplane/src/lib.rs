//! The Ringcast dataplane: one pinned worker per core, each with its own
//! io_uring (or the portable driver) and its own share of the transports.
//! Protocol logic lives in sans-IO state machines; the drivers only move bytes.
pub mod demux;
pub mod driver;
pub mod dtls;
pub mod forward;
pub mod ice;
pub mod quality;
pub mod rtcp;
pub mod rtp;
pub mod runtime;
pub mod sctp;
pub mod srtp;
pub mod transport;
pub mod worker;

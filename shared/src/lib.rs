//! What both planes must agree on, and nothing else: the shared-memory rings,
//! the command and event records that travel on them, ids and the dataplane
//! configuration. Both `controlplane` and `dataplane` depend on this crate;
//! they never depend on each other.
//!
//! The contract between the planes:
//!
//! - One shared-memory region ([`ring::ShmRegion`], a memfd or a file under
//!   `/dev/shm`) holds, per dataplane worker, one command ring (control plane
//!   -> worker) and one event ring (worker -> control plane), plus a small
//!   info block the dataplane publishes (DTLS certificate fingerprint, UDP
//!   port, pid, heartbeat).
//! - Every ring is single-producer/single-consumer ([`ring::spsc`]): each end
//!   is held by exactly one handle at a time, enforced by types (`Send`, not
//!   `Clone`) and by a "taken" flag in shared memory. Pushing never blocks:
//!   a full ring hands the record back and counts the refusal.
//! - Only fixed-size `Copy`, `repr(C)` records ([`records::Command`],
//!   [`records::Event`]) travel on the shared rings. Their layout is
//!   versioned by [`records::RECORDS_VERSION`]; attaching to a region made
//!   by a build with another version, magic or record size fails with a
//!   typed error instead of misreading memory.
//! - The dataplane's start-up settings are [`config::DataplaneConfig`].

pub mod config;
pub mod data_ring;
pub mod records;
pub mod ring;
pub mod stats;

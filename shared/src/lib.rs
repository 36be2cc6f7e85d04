//! What both planes must agree on, and nothing else: the shared-memory rings,
//! the command and event records that travel on them, ids and the dataplane
//! configuration. Both `controlplane` and `dataplane` depend on this crate;
//! they never depend on each other.

pub mod config;
pub mod records;
pub mod ring;

//! Rooms in memory: creation, lookup, timeouts, participants.
//!
//! `room.rs` is one room's record, `registry.rs` the thread-safe map of all
//! rooms on this node, `sweep.rs` the empty-timeout closing rule and its
//! background task, `participant.rs` the (for now empty) participant map.

mod participant;
mod registry;
mod room;
mod sweep;

pub use participant::*;
pub use registry::*;
pub use room::*;
pub use sweep::*;

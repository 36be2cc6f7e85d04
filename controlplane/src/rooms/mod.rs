//! Rooms in memory: creation, lookup, timeouts, participants.

mod registry;
pub use registry::*;

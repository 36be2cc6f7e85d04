//! Restarting the control plane while the dataplane keeps forwarding
//! (`ringcast dataplane` + `ringcast --dataplane-shm PATH`).
//!
//! - `listeners.rs`: the dataplane process holds the HTTP/WebSocket
//!   listening sockets and hands them to each control plane, so clients'
//!   resume attempts queue in the backlog during a restart;
//! - `snapshot.rs`: the control plane keeps its rooms, participants and
//!   transport owners in the region's state area, and a restarted one takes
//!   them back (participants detached, waiting for their resume:
//!   `signal/resume.rs`);
//! - `process.rs`: the `ringcast dataplane` process itself.

pub mod listeners;
pub mod process;
pub mod snapshot;

//! LiveKit signaling over WebSocket, both variants the SDKs speak:
//! `/rtc/v1` (one PeerConnection) and `/rtc` (publisher + subscriber).
//!
//! - `ws.rs` moves frames between the socket and the session (the only I/O);
//! - `join_request.rs` reads the client's join parameters;
//! - `lobby.rs` admits, joins and removes participants;
//! - `join_response.rs` builds the first message;
//! - `dispatch.rs` handles each `SignalRequest`;
//! - `negotiation.rs` does offer/answer and installs transports;
//! - `resume.rs` reattaches a participant whose connection dropped.

pub mod dispatch;
pub mod join_request;
pub mod join_response;
pub mod lobby;
pub mod negotiation;
pub mod resume;
pub mod transport_events;
pub mod ws;

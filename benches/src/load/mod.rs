//! `ringcast-load`: a LiveKit load generator built from our own sans-IO
//! pieces in their client roles (issue #7).
//!
//! Each simulated participant is one tokio task on a small runtime (never a
//! thread per participant): a `/rtc/v1` signaling WebSocket ([`signal`]), a
//! UDP socket and a [`peer::MediaPeer`] that runs the ICE check, the DTLS
//! client and SRTP. Audio publishers send Opus-sized RTP every 20 ms, video
//! publishers VP8-shaped frames (optionally simulcast), each payload
//! carrying a [`payload::Stamp`]; subscribers record what arrives
//! ([`stats`]), and [`run`] turns it into the [`report::Summary`].
//!
//! The measured window is defined by send time: a packet counts when its
//! stamp lies inside the window, so joins, warm-up and the drain at the end
//! never count as loss.

pub mod args;
pub mod cpu;
pub mod participant;
pub mod payload;
pub mod peer;
pub mod report;
pub mod run;
pub mod sdp;
pub mod signal;
pub mod stats;
pub mod token;

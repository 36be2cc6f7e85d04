//! RTCP as the forwarder needs it (RFC 3550 6, RFC 4585, RFC 5104): walk a
//! compound packet and pick out what changes forwarding (PLI/FIR keyframe
//! requests, NACKs, sender reports), and write the few packets the server
//! sends itself (PLI to publishers, NACK to publishers). No allocation.

mod build;
mod parse;
mod twcc;

pub use build::{write_nack, write_pli, write_receiver_report, write_sender_report, ReportBlock};
pub use parse::{for_each_feedback, Feedback, RtcpError};
pub use twcc::{TwccRecorder, TWCC_CAPACITY, TWCC_INTERVAL};

/// The SSRC the server's own RTCP (PLI and NACK to publishers, receiver
/// reports) is sent from.
pub const SERVER_RTCP_SSRC: u32 = 1;

/// RTCP packet types.
pub const PT_SR: u8 = 200;
pub const PT_RR: u8 = 201;
pub const PT_RTPFB: u8 = 205;
pub const PT_PSFB: u8 = 206;

//! The Ringcast control plane: LiveKit signaling, rooms and participants, access
//! tokens, the RoomService API and the `ringcast` CLI. It never touches a media
//! packet; it programs the dataplane through `ringcast_shared`'s rings.

pub mod auth;
pub mod cli;
pub mod config;
pub mod data;
pub mod handover;
pub mod http;
pub mod ids;
pub mod logging;
pub mod media;
pub mod metrics;
pub mod participant;
pub mod quality;
pub mod rooms;
pub mod sdp;
pub mod server;
pub mod signal;
pub mod speakers;
pub mod subscription;
pub mod twirp;
pub mod webhook;

/// The version we report to clients. The JS SDK gates features on the server
/// version (RPC needs >= 1.8.0), so we report the livekit-server release whose
/// protocol we follow, and our own version beside it.
pub const LIVEKIT_COMPAT_VERSION: &str = "1.13.5";

/// The LiveKit signaling protocol version we speak.
pub const PROTOCOL_VERSION: i32 = 17;

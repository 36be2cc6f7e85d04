#![allow(deprecated)] // aes 0.8 exposes generic-array 0.14; lengths are fixed by the profile.
//! In-place SRTP/SRTCP (RFC 3711, RFC 7714) for the hot path: sans-IO, no
//! allocation per packet. Byte-identical to `webrtc-srtp`, the test oracle.
mod context;
mod kdf;

pub use context::{SrtpContext, SrtpError};
pub use kdf::{derive_session_key, Label};

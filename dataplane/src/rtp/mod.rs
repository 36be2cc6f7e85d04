//! RTP packets as the forwarder needs them (RFC 3550 5.1, RFC 8285): parse a
//! header without copying, rewrite SSRC/sequence/timestamp/payload type in
//! place, drop header extensions the subscriber did not negotiate, read the
//! audio level (RFC 6464), and tell whether a video packet starts a keyframe.
//! Plain functions over byte slices: no allocation, no I/O.

mod extensions;
mod header;
mod keyframe;

pub use extensions::{audio_level, extension_value, strip_extensions, AudioLevel};
pub use header::{RtpError, RtpHeader};
pub use keyframe::{is_keyframe_start, VideoCodec};

//! LiveKit-style ids: a prefix (`RM_`, `PA_`, `TR_`) and 12 random characters.
//!
//! The Rust SDK checks these prefixes with `unwrap()` (fact 5 of
//! LIVEKIT_PROTOCOL.md), so every sid we hand out must come from here.

use rand::Rng;

/// The alphabet LiveKit's `guid.New` draws from (base62).
const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// How many random characters follow the prefix, as in LiveKit.
pub const RANDOM_LEN: usize = 12;

/// Prefix of room sids.
pub const ROOM_PREFIX: &str = "RM_";
/// Prefix of participant sids.
pub const PARTICIPANT_PREFIX: &str = "PA_";
/// Prefix of track sids.
pub const TRACK_PREFIX: &str = "TR_";

/// `prefix` followed by [`RANDOM_LEN`] random base62 characters.
pub fn guid(prefix: &str) -> String {
    let mut rng = rand::rng();
    let mut s = String::with_capacity(prefix.len() + RANDOM_LEN);
    s.push_str(prefix);
    for _ in 0..RANDOM_LEN {
        let i = rng.random_range(0..ALPHABET.len());
        s.push(char::from(ALPHABET[i]));
    }
    s
}

/// A new room sid (`RM_...`).
pub fn room_sid() -> String {
    guid(ROOM_PREFIX)
}

/// A new participant sid (`PA_...`).
pub fn participant_sid() -> String {
    guid(PARTICIPANT_PREFIX)
}

/// What a track carries and where it comes from, as encoded in its sid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackSidKind {
    /// Microphone audio: `TR_AM...`.
    Microphone,
    /// Camera video: `TR_VC...`.
    Camera,
    /// Screen share video: `TR_VS...`.
    ScreenShare,
    /// Screen share audio: `TR_As...`.
    ScreenShareAudio,
    /// Audio from an unknown source (`TR_AM...`, as LiveKit).
    OtherAudio,
    /// Video from an unknown source (`TR_VC...`, as LiveKit).
    OtherVideo,
}

impl TrackSidKind {
    /// The two letters after `TR_`: `A`/`V` then `C`/`M`/`S`/`s`
    /// (LiveKit `participant.go setTrackID`).
    fn letters(self) -> &'static str {
        match self {
            TrackSidKind::Microphone | TrackSidKind::OtherAudio => "AM",
            TrackSidKind::Camera | TrackSidKind::OtherVideo => "VC",
            TrackSidKind::ScreenShare => "VS",
            TrackSidKind::ScreenShareAudio => "As",
        }
    }
}

/// A new track sid: `TR_` + kind/source letters + random, like LiveKit.
pub fn track_sid(kind: TrackSidKind) -> String {
    guid(&format!("{TRACK_PREFIX}{}", kind.letters()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_has_prefix_and_twelve_base62_chars() {
        let id = guid("XX_");
        assert!(id.starts_with("XX_"));
        let rest = &id[3..];
        assert_eq!(rest.len(), RANDOM_LEN);
        assert!(rest.bytes().all(|b| ALPHABET.contains(&b)));
    }

    #[test]
    fn guids_differ() {
        assert_ne!(room_sid(), room_sid());
    }

    #[test]
    fn sids_carry_livekit_prefixes() {
        assert!(room_sid().starts_with("RM_"));
        assert!(participant_sid().starts_with("PA_"));
        assert!(track_sid(TrackSidKind::Microphone).starts_with("TR_AM"));
        assert!(track_sid(TrackSidKind::Camera).starts_with("TR_VC"));
        assert!(track_sid(TrackSidKind::ScreenShare).starts_with("TR_VS"));
        assert!(track_sid(TrackSidKind::ScreenShareAudio).starts_with("TR_As"));
        assert_eq!(track_sid(TrackSidKind::Camera).len(), 5 + RANDOM_LEN);
    }
}

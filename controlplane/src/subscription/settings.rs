//! `UpdateTrackSettings` (LIVEKIT_PROTOCOL.md 4.6): a subscriber pauses a
//! track (`disabled`, JS `setEnabled(false)` and adaptiveStream when the
//! element is hidden) or says how large it shows it, which picks the
//! simulcast layer it is forwarded.

use livekit_protocol as proto;

use super::program;
use crate::media::MediaControl;
use crate::participant::{LayerWant, ParticipantSet};

/// The layer a settings request asks for: a size when it names one (JS
/// adaptiveStream and `setVideoDimensions`; the Rust SDK's `set_enabled`
/// sends the publication's full size), else its quality caps the layer
/// (JS always fills it, HIGH by default), as livekit-server reads it.
pub fn want_from_settings(ts: &proto::UpdateTrackSettings) -> LayerWant {
    if ts.width > 0 || ts.height > 0 {
        return LayerWant::Size {
            width: ts.width,
            height: ts.height,
        };
    }
    match proto::VideoQuality::try_from(ts.quality) {
        Ok(proto::VideoQuality::Low) => LayerWant::AtMost(1),
        Ok(proto::VideoQuality::Medium) => LayerWant::AtMost(2),
        _ => LayerWant::Best,
    }
}

/// Applies `ts` from subscriber `sid` to each of its subscriptions it
/// names: pausing stops the down-track at once (the m-line stays),
/// resuming programs it again (the dataplane asks the publisher for a
/// keyframe), a new size switches layers. Tracks it does not receive are
/// ignored.
pub fn on_track_settings(
    set: &mut ParticipantSet,
    media: &MediaControl,
    sid: &str,
    ts: &proto::UpdateTrackSettings,
) {
    let want = want_from_settings(ts);
    for track_sid in &ts.track_sids {
        let Some(p) = set.get_mut(sid) else { return };
        let Some(sub) = p.subscriptions.subs.get_mut(track_sid) else {
            tracing::debug!(participant = sid, track = %track_sid, "settings for a track not subscribed");
            continue;
        };
        let was_disabled = sub.disabled;
        sub.disabled = ts.disabled;
        sub.want = want;
        tracing::debug!(participant = sid, track = %track_sid, disabled = ts.disabled, ?want, "track settings");
        if ts.disabled {
            if !was_disabled {
                program::pause(media, p, track_sid);
            }
            continue;
        }
        program::program(set, media, sid, track_sid);
    }
}

//! What the dataplane tells us about transports, applied to participants:
//! the primary PeerConnection connecting makes a participant ACTIVE
//! (LIVEKIT_PROTOCOL.md 2.12); a failed one is logged and its transport freed.

use livekit_protocol as proto;
use ringcast_shared::records::Event;

use crate::participant::{ParticipantState, PcRole};
use crate::server::AppState;

/// Applies one dataplane event.
pub fn on_event(state: &AppState, ev: Event) {
    let id = match ev {
        Event::IceConnected { id, .. }
        | Event::IceDisconnected { id }
        | Event::DtlsConnected { id }
        | Event::SctpConnected { id }
        | Event::TransportFailed { id, .. }
        | Event::RtpStarted { id, .. }
        | Event::AudioLevel { id, .. }
        | Event::LinkQuality { id, .. }
        | Event::RtpStopped { id, .. } => id,
    };
    let Some(owner) = state.media.owner(id) else {
        return;
    };
    if let Event::AudioLevel {
        level,
        voiced,
        packets,
        ..
    } = ev
    {
        // Ten per second per audio stream: not logged.
        state
            .speakers
            .observe(&owner.room, &owner.participant_sid, level, voiced, packets);
        return;
    }
    if let Event::LinkQuality {
        up_expected,
        up_lost,
        down_loss,
        down_jitter_ms,
        down_reports,
        ..
    } = ev
    {
        // Once a second per transport with media: not logged.
        let sample = crate::quality::LinkSample {
            up_expected,
            up_lost,
            down_loss,
            down_jitter_ms,
            down_reports,
        };
        state
            .quality
            .observe(&owner.room, &owner.participant_sid, sample);
        return;
    }
    tracing::debug!(transport = id.0, participant = %owner.participant_sid, pc = ?owner.pc, event = ?ev, "transport event");
    match ev {
        Event::DtlsConnected { .. } => {
            state.live.with(&owner.room, |set| {
                let Some(p) = set.get_mut(&owner.participant_sid) else { return };
                let primary = if p.subscriber_primary() { PcRole::Subscriber } else { PcRole::Publisher };
                if owner.pc == primary && p.advance(ParticipantState::Active) {
                    tracing::info!(room = %owner.room, participant = %owner.participant_sid, "participant active");
                    crate::webhook::on_participant_active(state, &owner.room, p.info());
                    set.broadcast_info(&owner.participant_sid);
                    crate::subscription::on_active(set, &state.media, &owner.participant_sid);
                }
            });
        }
        Event::RtpStarted {
            ssrc,
            payload_type,
            rid,
            repaired,
            ..
        } => {
            let published = state.live.with(&owner.room, |set| {
                let p = set.get_mut(&owner.participant_sid)?;
                // Binds a new SSRC to its track (and marks a resumed one
                // flowing) before its layer is noted on that track.
                let change = crate::participant::on_rtp_started(&mut p.tracks, ssrc, payload_type);
                if !repaired {
                    crate::participant::note_layer(&mut p.tracks, ssrc, rid.as_str());
                }
                let track =
                    crate::participant::track_of_ssrc(&p.tracks, ssrc).map(|t| t.info.sid.clone());
                let Some(change) = change else {
                    // A known track: a new or resumed layer, or its first
                    // source. Each subscription switches if its layer
                    // should change.
                    if let Some(track_sid) = track {
                        crate::subscription::on_source_changed(set, &state.media, &track_sid);
                    }
                    return None;
                };
                p.version += 1;
                p.track_changes.push(change);
                // The update naming the track goes out before any SDP
                // carrying it (LIVEKIT_PROTOCOL.md 4.4).
                set.broadcast_info(&owner.participant_sid);
                if let Some(track_sid) = track {
                    crate::subscription::on_track_published(
                        set,
                        &state.media,
                        &owner.participant_sid,
                        &track_sid,
                    );
                }
                Some(())
            });
            if published.flatten().is_some() {
                crate::signal::lobby::flush_track_changes(
                    state,
                    &owner.room,
                    &owner.participant_sid,
                );
            }
        }
        Event::RtpStopped { ssrc, .. } => {
            // A paused simulcast layer (or a muted stream): subscribers on
            // it fall back to the best layer still flowing.
            state.live.with(&owner.room, |set| {
                let Some(p) = set.get_mut(&owner.participant_sid) else {
                    return;
                };
                if let Some(track_sid) = crate::participant::on_rtp_stopped(&mut p.tracks, ssrc) {
                    crate::subscription::on_source_changed(set, &state.media, &track_sid);
                }
            });
        }
        Event::TransportFailed { reason, .. } => {
            tracing::warn!(room = %owner.room, participant = %owner.participant_sid, pc = ?owner.pc, ?reason, "transport failed");
            // A failed transport cannot be resumed (the client closed its
            // PeerConnection, or consent ran out): a participant without
            // signaling leaves now instead of after the resume grace, and
            // one with signaling leaves as soon as its socket drops.
            let detached = crate::signal::lobby::with_room(state, &owner.room, |set| {
                set.get_mut(&owner.participant_sid).map(|p| {
                    p.transport_failed = true;
                    p.detached_until.is_some()
                })
            })
            .flatten()
            .unwrap_or(false);
            if detached {
                crate::signal::lobby::leave(
                    state,
                    &owner.room,
                    &owner.participant_sid,
                    proto::DisconnectReason::SignalClose,
                );
            }
        }
        _ => {}
    }
}

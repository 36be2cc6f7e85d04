//! Subscription permissions (LIVEKIT_PROTOCOL.md 4.8): a publisher says who
//! may receive its tracks with `SignalRequest.subscription_permission`.
//! Until it does, everyone may. As livekit-server (`UpTrackManager`):
//!
//! - every request replaces the previous one; `all_participants` wins over
//!   the list; the list is keyed by identity (a sid is resolved to the
//!   identity it has now), so a subscriber that rejoins keeps its rights;
//! - an entry naming neither an identity nor a sid rejects the whole request
//!   and the previous permissions stay; a sid not in the room is skipped;
//! - recorders are exempt (egress cannot know who may see what).
//!
//! A subscriber that wants a track it may not have keeps wanting it
//! (`SubscriberState::blocked`): it is subscribed the moment the publisher
//! allows it. The client hears `SubscriptionPermissionUpdate` whenever what
//! it was last told changes. Clients start out assuming "allowed" (JS
//! `RemoteTrackPublication.allowed`), so unlike livekit-server, which also
//! confirms the first successful subscription with `allowed: true`, only
//! refusals and the grants that follow them are sent.
//!
//! The functions here only read and change state; `plan.rs` applies the
//! results to SDPs and the dataplane.

use std::collections::{BTreeMap, BTreeSet};

use livekit_protocol as proto;

use super::SubscriberState;
use crate::participant::{Participant, ParticipantSet};

/// Which tracks of a publisher one subscriber identity may receive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AllowedTracks {
    All,
    Only(BTreeSet<String>),
}

/// A publisher's answer to "who may subscribe to my tracks".
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TrackPermissions {
    /// Never restricted, or `all_participants: true`.
    #[default]
    Everyone,
    /// Only these identities, each to the tracks named.
    Listed(BTreeMap<String, AllowedTracks>),
}

/// Why a `SubscriptionPermission` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionError {
    /// An entry names neither a participant identity nor a sid
    /// (livekit-server's `ErrSubscriptionPermissionNeedsId`).
    #[error("a track permission names no participant")]
    NeedsId,
}

impl TrackPermissions {
    /// Reads a request. `identity_of` maps a participant sid to its identity
    /// when that participant is in the room.
    pub fn parse(
        req: &proto::SubscriptionPermission,
        identity_of: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, PermissionError> {
        if req.all_participants {
            return Ok(TrackPermissions::Everyone);
        }
        let mut listed = BTreeMap::new();
        for tp in &req.track_permissions {
            let identity = if !tp.participant_identity.is_empty() {
                tp.participant_identity.clone()
            } else if tp.participant_sid.is_empty() {
                return Err(PermissionError::NeedsId);
            } else if let Some(identity) = identity_of(&tp.participant_sid) {
                identity
            } else {
                tracing::warn!(subscriber = %tp.participant_sid, "subscription permission for a participant not in the room: skipped");
                continue;
            };
            let allowed = if tp.all_tracks {
                AllowedTracks::All
            } else {
                AllowedTracks::Only(tp.track_sids.iter().cloned().collect())
            };
            // A later entry for the same identity replaces an earlier one.
            listed.insert(identity, allowed);
        }
        Ok(TrackPermissions::Listed(listed))
    }

    /// Whether `identity` may receive the track `track_sid`.
    pub fn allows(&self, identity: &str, track_sid: &str) -> bool {
        match self {
            TrackPermissions::Everyone => true,
            TrackPermissions::Listed(m) => match m.get(identity) {
                Some(AllowedTracks::All) => true,
                Some(AllowedTracks::Only(tracks)) => tracks.contains(track_sid),
                None => false,
            },
        }
    }
}

/// Whether `subscriber` may receive `publisher`'s track `track_sid`.
pub fn may_subscribe(publisher: &Participant, subscriber: &Participant, track_sid: &str) -> bool {
    subscriber.grant.recorder
        || publisher
            .subscriptions
            .permissions
            .allows(&subscriber.identity, track_sid)
}

fn update(
    publisher_sid: &str,
    track_sid: &str,
    allowed: bool,
) -> proto::SubscriptionPermissionUpdate {
    proto::SubscriptionPermissionUpdate {
        participant_sid: publisher_sid.to_owned(),
        track_sid: track_sid.to_owned(),
        allowed,
    }
}

/// The subscriber wants `track_sid` but may not have it: it waits in
/// `blocked`. Returns the update to send when the client has not been told
/// yet.
pub fn note_denied(
    st: &mut SubscriberState,
    publisher_sid: &str,
    track_sid: &str,
) -> Option<proto::SubscriptionPermissionUpdate> {
    st.blocked
        .insert(track_sid.to_owned(), publisher_sid.to_owned());
    st.told_denied
        .insert(track_sid.to_owned())
        .then(|| update(publisher_sid, track_sid, false))
}

/// The subscriber got `track_sid`: it no longer waits. Returns the update to
/// send when the client was last told it was not allowed.
pub fn note_allowed(
    st: &mut SubscriberState,
    publisher_sid: &str,
    track_sid: &str,
) -> Option<proto::SubscriptionPermissionUpdate> {
    st.blocked.remove(track_sid);
    st.told_denied
        .remove(track_sid)
        .then(|| update(publisher_sid, track_sid, true))
}

/// The subscriber no longer wants `track_sid` (it unsubscribed by hand). What
/// it was told stays, so a later grant is still reported.
pub fn forget_wanted(st: &mut SubscriberState, track_sid: &str) -> bool {
    st.blocked.remove(track_sid).is_some()
}

/// `track_sid` is gone: nothing about it is kept.
pub fn forget_track(st: &mut SubscriberState, track_sid: &str) {
    st.blocked.remove(track_sid);
    st.told_denied.remove(track_sid);
}

/// What a permission change of one publisher does to one subscription.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PermissionChange {
    /// Subscribed, no longer allowed: unsubscribe, keep it wanted.
    Revoke { subscriber: String, track: String },
    /// Wanted and refused before, allowed now: subscribe.
    Grant { subscriber: String, track: String },
}

/// The subscriptions that `publisher_sid`'s current permissions start or
/// end, over every other participant of `set` and every published track.
pub fn changes_for(set: &ParticipantSet, publisher_sid: &str) -> Vec<PermissionChange> {
    let Some(publisher) = set.get(publisher_sid) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for sub in set.iter().filter(|p| p.sid != publisher_sid) {
        for t in publisher.tracks.iter().filter(|t| t.published) {
            let track = &t.info.sid;
            let allowed = may_subscribe(publisher, sub, track);
            let subscribed = sub.subscriptions.subs.contains_key(track);
            let waiting = sub.subscriptions.blocked.contains_key(track);
            if subscribed && !allowed {
                out.push(PermissionChange::Revoke {
                    subscriber: sub.sid.clone(),
                    track: track.clone(),
                });
            } else if waiting && allowed {
                out.push(PermissionChange::Grant {
                    subscriber: sub.sid.clone(),
                    track: track.clone(),
                });
            }
        }
    }
    out
}

use std::collections::BTreeMap;

use livekit_protocol as proto;
use proto::signal_response::Message as Resp;

use super::{Participant, ParticipantState};

/// The participants of one room, and the rules for telling them about each
/// other: hidden participants are never shown to others, every update goes to
/// the subject too, and versions only grow.
#[derive(Debug, Default)]
pub struct ParticipantSet {
    by_sid: BTreeMap<String, Participant>,
}

impl ParticipantSet {
    pub fn len(&self) -> usize {
        self.by_sid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_sid.is_empty()
    }

    pub fn get(&self, sid: &str) -> Option<&Participant> {
        self.by_sid.get(sid)
    }

    pub fn get_mut(&mut self, sid: &str) -> Option<&mut Participant> {
        self.by_sid.get_mut(sid)
    }

    pub fn by_identity(&self, identity: &str) -> Option<&Participant> {
        self.by_sid.values().find(|p| p.identity == identity)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Participant> {
        self.by_sid.values()
    }

    /// Visible participants other than `sid`, for a JoinResponse.
    pub fn others_info(&self, sid: &str) -> Vec<proto::ParticipantInfo> {
        self.by_sid
            .values()
            .filter(|p| p.sid != sid && !p.is_hidden())
            .map(Participant::info)
            .collect()
    }

    /// Adds `p`. A participant with the same identity is taken out first and
    /// returned so the caller can tell it (DUPLICATE_IDENTITY) and clean up.
    pub fn insert(&mut self, p: Participant) -> Option<Participant> {
        let old_sid = self.by_identity(&p.identity).map(|o| o.sid.clone());
        let evicted =
            old_sid.and_then(|sid| self.take(&sid, proto::DisconnectReason::DuplicateIdentity));
        self.by_sid.insert(p.sid.clone(), p);
        evicted
    }

    /// Removes `sid`, marks it DISCONNECTED with `reason` and tells the others.
    pub fn take(&mut self, sid: &str, reason: proto::DisconnectReason) -> Option<Participant> {
        let mut p = self.by_sid.remove(sid)?;
        p.state = ParticipantState::Disconnected;
        p.disconnect_reason = reason as i32;
        p.version += 1;
        if !p.is_hidden() {
            let info = p.info();
            for other in self.by_sid.values() {
                other.outbox.send(Resp::Update(proto::ParticipantUpdate {
                    participants: vec![info.clone()],
                }));
            }
        }
        Some(p)
    }

    /// Sends `sid`'s current info to everyone who may see it (itself included).
    pub fn broadcast_info(&self, sid: &str) {
        let Some(p) = self.by_sid.get(sid) else {
            return;
        };
        let info = p.info();
        let update = || {
            Resp::Update(proto::ParticipantUpdate {
                participants: vec![info.clone()],
            })
        };
        if p.is_hidden() {
            p.outbox.send(update());
            return;
        }
        for other in self.by_sid.values() {
            other.outbox.send(update());
        }
    }

    /// Sends a message to every participant.
    pub fn send_all(&self, msg: impl Fn() -> Resp) {
        for p in self.by_sid.values() {
            p.outbox.send(msg());
        }
    }
}

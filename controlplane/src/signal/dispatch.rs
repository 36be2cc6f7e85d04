//! What the server does with each `SignalRequest` of a joined participant.
//! Synchronous and I/O-free: it mutates the room's participants and queues
//! responses in outboxes, so it is driven the same way by the WebSocket
//! handler and by in-memory tests.

use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;

use crate::media::MediaControl;
use crate::participant::ParticipantSet;

use super::negotiation;

/// What the caller must do after a request was handled.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Keep reading.
    Continue,
    /// The participant left (its Leave was handled); close the socket.
    Leave,
}

/// Milliseconds since the Unix epoch (LiveKit's pong unit: JS overflows on ns).
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Handles one request from participant `sid`.
pub fn handle_request(
    set: &mut ParticipantSet,
    media: &MediaControl,
    enabled_codecs: &[String],
    sid: &str,
    req: proto::SignalRequest,
) -> Next {
    let Some(msg) = req.message else {
        return Next::Continue;
    };
    let Some(p) = set.get_mut(sid) else {
        return Next::Leave;
    };
    match msg {
        Req::Ping(ts) => {
            let _ = ts;
            p.outbox.send(Resp::Pong(unix_ms()));
        }
        Req::PingReq(ping) => {
            p.outbox.send(Resp::PongResp(proto::Pong {
                last_ping_timestamp: ping.timestamp,
                timestamp: unix_ms(),
            }));
        }
        // The caller removes the participant (lobby::leave), so the room
        // record and the others are updated in one place for every way out.
        Req::Leave(_) => return Next::Leave,
        Req::Offer(offer) => negotiation::on_client_offer(set, media, enabled_codecs, sid, offer),
        Req::Answer(answer) => negotiation::on_client_answer(set, media, sid, answer),
        Req::Trickle(_) => {
            // ICE-lite: the peer's addresses are learned from its checks.
        }
        Req::AddTrack(add) => {
            let refuse = |reason: proto::request_response::Reason, message: &str| {
                Resp::RequestResponse(proto::RequestResponse {
                    request_id: 0,
                    reason: reason as i32,
                    message: message.into(),
                    request: Some(proto::request_response::Request::AddTrack(add.clone())),
                })
            };
            let unknown_source = add.source == proto::TrackSource::Unknown as i32;
            let allowed = if unknown_source {
                p.grant.can_publish()
            } else {
                p.grant
                    .can_publish_source(crate::participant::source_grant_name(add.source))
            };
            if !allowed {
                p.outbox.send(refuse(
                    proto::request_response::Reason::NotAllowed,
                    "does not have permission to publish",
                ));
                return Next::Continue;
            }
            if let Some(t) = p.tracks.iter().find(|t| t.cid == add.cid) {
                // The same request again (a retry): the same answer.
                p.outbox
                    .send(Resp::TrackPublished(proto::TrackPublishedResponse {
                        cid: add.cid.clone(),
                        track: Some(t.info.clone()),
                    }));
                return Next::Continue;
            }
            if p.tracks.len() >= crate::participant::MAX_TRACKS {
                p.outbox.send(refuse(
                    proto::request_response::Reason::LimitExceeded,
                    "too many tracks",
                ));
                return Next::Continue;
            }
            let t = crate::participant::PublishedTrack::from_request(&add);
            p.outbox
                .send(Resp::TrackPublished(proto::TrackPublishedResponse {
                    cid: add.cid.clone(),
                    track: Some(t.info.clone()),
                }));
            p.tracks.push(t);
        }
        Req::Mute(m) => match p.tracks.iter_mut().find(|t| t.info.sid == m.sid) {
            Some(t) => {
                let changed = t.info.muted != m.muted;
                t.info.muted = m.muted;
                let published = t.published;
                if changed && published {
                    p.version += 1;
                    set.broadcast_info(sid);
                }
            }
            None => p.outbox.send(Resp::RequestResponse(proto::RequestResponse {
                request_id: 0,
                reason: proto::request_response::Reason::NotFound as i32,
                message: "track not found".into(),
                request: Some(proto::request_response::Request::Mute(m)),
            })),
        },
        Req::UpdateMetadata(upd) => {
            let request_id = upd.request_id;
            if !p.grant.can_update_own_metadata() {
                p.outbox.send(Resp::RequestResponse(proto::RequestResponse {
                    request_id,
                    reason: proto::request_response::Reason::NotAllowed as i32,
                    message: "does not have permission to update own metadata".into(),
                    request: None,
                }));
                return Next::Continue;
            }
            if !upd.name.is_empty() {
                p.name = upd.name;
            }
            if !upd.metadata.is_empty() {
                p.metadata = upd.metadata;
            }
            for (k, v) in upd.attributes {
                if v.is_empty() {
                    p.attributes.remove(&k);
                } else {
                    p.attributes.insert(k, v);
                }
            }
            p.version += 1;
            p.outbox.send(Resp::RequestResponse(proto::RequestResponse {
                request_id,
                reason: proto::request_response::Reason::Ok as i32,
                message: String::new(),
                request: None,
            }));
            set.broadcast_info(sid);
        }
        Req::Subscription(upd) => {
            crate::subscription::on_update_subscription(set, media, sid, &upd);
        }
        Req::TrackSetting(ts) => {
            crate::subscription::on_track_settings(set, media, sid, &ts);
        }
        Req::SubscriptionPermission(perm) => {
            crate::subscription::on_subscription_permission(set, media, sid, &perm);
        }
        other => {
            tracing::debug!(participant = sid, request = ?std::mem::discriminant(&other), "signal request not handled yet");
        }
    }
    Next::Continue
}

//! The `livekit.RoomService` methods: grant checks (LIVEKIT_PROTOCOL.md §8.5),
//! validation (§8.6) and the room registry calls behind them.

use axum::response::Response;
use livekit_protocol as proto;

use super::codec::{decode, encode, Encoding};
use super::TwirpError;
use crate::auth::{token_from_parts, Claims, VideoGrant};
use crate::rooms::{CreateOptions, ParticipantEntry, Room};
use crate::server::AppState;

/// The RoomService methods we serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    CreateRoom,
    ListRooms,
    DeleteRoom,
    ListParticipants,
    GetParticipant,
    RemoveParticipant,
    MutePublishedTrack,
    UpdateParticipant,
    UpdateSubscriptions,
    SendData,
    UpdateRoomMetadata,
}

impl Method {
    /// The method named in the URL path, if we serve it.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "CreateRoom" => Method::CreateRoom,
            "ListRooms" => Method::ListRooms,
            "DeleteRoom" => Method::DeleteRoom,
            "ListParticipants" => Method::ListParticipants,
            "GetParticipant" => Method::GetParticipant,
            "RemoveParticipant" => Method::RemoveParticipant,
            "MutePublishedTrack" => Method::MutePublishedTrack,
            "UpdateParticipant" => Method::UpdateParticipant,
            "UpdateSubscriptions" => Method::UpdateSubscriptions,
            "SendData" => Method::SendData,
            "UpdateRoomMetadata" => Method::UpdateRoomMetadata,
            _ => return None,
        })
    }
}

const ROOM_NOT_FOUND: &str = "requested room does not exist";
const PARTICIPANT_NOT_FOUND: &str = "participant does not exist";
const PERMISSIONS_DENIED: &str = "permissions denied";

/// Verifies the request's token. LiveKit answers every token problem with
/// 401; we send it as Twirp `unauthenticated` so SDKs can parse it.
pub fn authenticate(state: &AppState, authorization: Option<&str>) -> Result<Claims, TwirpError> {
    let token = token_from_parts(authorization, None)
        .map_err(|e| TwirpError::unauthenticated(e.reason()))?
        .ok_or_else(|| TwirpError::unauthenticated("no permissions to access the room"))?;
    state
        .keys
        .verify(&token)
        .map_err(|e| TwirpError::unauthenticated(e.reason()))
}

fn grant(claims: &Claims) -> Result<&VideoGrant, TwirpError> {
    claims
        .video
        .as_ref()
        .ok_or_else(|| TwirpError::unauthenticated(PERMISSIONS_DENIED))
}

fn require(ok: bool) -> Result<(), TwirpError> {
    if ok {
        Ok(())
    } else {
        Err(TwirpError::unauthenticated(PERMISSIONS_DENIED))
    }
}

/// `roomAdmin` for exactly `room` (LiveKit `EnsureAdminPermission`).
fn require_admin(claims: &Claims, room: &str) -> Result<(), TwirpError> {
    let g = grant(claims)?;
    require(g.room_admin && !room.is_empty() && g.room == room)
}

/// Runs one method on a decoded body and encodes the reply.
pub fn call(
    state: &AppState,
    method: Method,
    enc: Encoding,
    claims: &Claims,
    body: &[u8],
) -> Result<Response, TwirpError> {
    match method {
        Method::CreateRoom => {
            let req: proto::CreateRoomRequest = decode(enc, body)?;
            require(grant(claims)?.room_create)?;
            Ok(encode(enc, &create_room(state, req)?.to_proto()))
        }
        Method::ListRooms => {
            let req: proto::ListRoomsRequest = decode(enc, body)?;
            require(grant(claims)?.room_list)?;
            let rooms = state.rooms.list(&req.names);
            let resp = proto::ListRoomsResponse {
                rooms: rooms.iter().map(Room::to_proto).collect(),
            };
            Ok(encode(enc, &resp))
        }
        Method::DeleteRoom => {
            let req: proto::DeleteRoomRequest = decode(enc, body)?;
            require(grant(claims)?.room_create)?;
            if state.rooms.exists(&req.room) {
                crate::signal::lobby::close_room(
                    state,
                    &req.room,
                    proto::DisconnectReason::RoomDeleted,
                );
            }
            state
                .rooms
                .delete(&req.room)
                .ok_or_else(|| TwirpError::not_found(ROOM_NOT_FOUND))?;
            Ok(encode(enc, &proto::DeleteRoomResponse {}))
        }
        Method::ListParticipants => {
            let req: proto::ListParticipantsRequest = decode(enc, body)?;
            require_admin(claims, &req.room)?;
            let room = existing_room(state, &req.room)?;
            let live = |p: &crate::rooms::ParticipantEntry| {
                crate::signal::lobby::live_info(state, &req.room, &p.identity)
                    .unwrap_or_else(|| p.info.clone())
            };
            let resp = proto::ListParticipantsResponse {
                participants: room.participants.values().map(live).collect(),
            };
            Ok(encode(enc, &resp))
        }
        Method::GetParticipant => {
            let req: proto::RoomParticipantIdentity = decode(enc, body)?;
            require_admin(claims, &req.room)?;
            let p = participant(state, &req.room, &req.identity)?;
            let info =
                crate::signal::lobby::live_info(state, &req.room, &req.identity).unwrap_or(p.info);
            Ok(encode(enc, &info))
        }
        Method::RemoveParticipant => {
            let req: proto::RoomParticipantIdentity = decode(enc, body)?;
            require_admin(claims, &req.room)?;
            participant(state, &req.room, &req.identity)?;
            let reason = proto::DisconnectReason::ParticipantRemoved;
            if !crate::signal::lobby::remove_identity(state, &req.room, &req.identity, reason) {
                state.rooms.participant_left(&req.room, &req.identity);
            }
            Ok(encode(enc, &proto::RemoveParticipantResponse {}))
        }
        Method::MutePublishedTrack => {
            let req: proto::MuteRoomTrackRequest = decode(enc, body)?;
            require_admin(claims, &req.room)?;
            let p = participant(state, &req.room, &req.identity)?;
            if !req.muted && !state.config.room.enable_remote_unmute {
                return Err(TwirpError::new(
                    super::error::TwirpCode::FailedPrecondition,
                    "remote unmute not enabled",
                ));
            }
            match crate::signal::lobby::mute_track(
                state,
                &req.room,
                &req.identity,
                &req.track_sid,
                req.muted,
            ) {
                Some(Some(track)) => {
                    return Ok(encode(
                        enc,
                        &proto::MuteRoomTrackResponse { track: Some(track) },
                    ))
                }
                Some(None) => return Err(TwirpError::not_found("track does not exist")),
                None => {}
            }
            let mut track = p
                .info
                .tracks
                .iter()
                .find(|t| t.sid == req.track_sid)
                .cloned()
                .ok_or_else(|| TwirpError::not_found("track does not exist"))?;
            track.muted = req.muted;
            Ok(encode(
                enc,
                &proto::MuteRoomTrackResponse { track: Some(track) },
            ))
        }
        Method::UpdateParticipant => {
            let req: proto::UpdateParticipantRequest = decode(enc, body)?;
            require_admin(claims, &req.room)?;
            check_metadata(state, &req.metadata)?;
            let limit = state.config.limit.max_participant_name_length as usize;
            if limit > 0 && req.name.len() > limit {
                return Err(
                    TwirpError::invalid_argument("participant name length exceeds limits")
                        .with_meta("limit", limit.to_string()),
                );
            }
            let mut p = participant(state, &req.room, &req.identity)?;
            if let Some(info) = crate::signal::lobby::update_participant(state, &req.room, &req) {
                p.info = info.clone();
                state.rooms.with_room_mut(&req.room, |r| {
                    r.participants.insert(req.identity.clone(), p);
                });
                return Ok(encode(enc, &info));
            }
            if !req.metadata.is_empty() {
                p.info.metadata = req.metadata.clone();
            }
            if !req.name.is_empty() {
                p.info.name = req.name.clone();
            }
            for (k, v) in &req.attributes {
                if v.is_empty() {
                    p.info.attributes.remove(k);
                } else {
                    p.info.attributes.insert(k.clone(), v.clone());
                }
            }
            if let Some(perm) = req.permission {
                p.info.permission = Some(perm);
            }
            let info = p.info.clone();
            state.rooms.with_room_mut(&req.room, |r| {
                r.participants.insert(req.identity.clone(), p);
            });
            Ok(encode(enc, &info))
        }
        Method::UpdateSubscriptions => {
            let req: proto::UpdateSubscriptionsRequest = decode(enc, body)?;
            require_admin(claims, &req.room)?;
            participant(state, &req.room, &req.identity)?;
            crate::subscription::update_subscriptions(state, &req);
            Ok(encode(enc, &proto::UpdateSubscriptionsResponse {}))
        }
        Method::SendData => {
            let req: proto::SendDataRequest = decode(enc, body)?;
            require_admin(claims, &req.room)?;
            if !req.nonce.is_empty() && req.nonce.len() != 16 {
                return Err(TwirpError::invalid_argument(
                    "nonce should be 16-bytes or not present",
                ));
            }
            existing_room(state, &req.room)?;
            crate::data::send_server_data(state, &req)
                .map_err(|e| TwirpError::invalid_argument(e.to_string()))?;
            Ok(encode(enc, &proto::SendDataResponse {}))
        }
        Method::UpdateRoomMetadata => {
            let req: proto::UpdateRoomMetadataRequest = decode(enc, body)?;
            require_admin(claims, &req.room)?;
            check_metadata(state, &req.metadata)?;
            let room = state
                .rooms
                .update_metadata(&req.room, &req.metadata)
                .ok_or_else(|| TwirpError::not_found(ROOM_NOT_FOUND))?;
            let info = room.to_proto();
            crate::signal::lobby::broadcast_room_update(state, &req.room, &info);
            Ok(encode(enc, &info))
        }
    }
}

fn create_room(state: &AppState, req: proto::CreateRoomRequest) -> Result<Room, TwirpError> {
    if req.name.is_empty() {
        return Err(TwirpError::invalid_argument("room name is required"));
    }
    let limit = state.config.limit.max_room_name_length as usize;
    if limit > 0 && req.name.len() > limit {
        return Err(
            TwirpError::invalid_argument("room name length exceeds limits")
                .with_meta("limit", limit.to_string()),
        );
    }
    check_metadata(state, &req.metadata)?;
    let opts = CreateOptions {
        empty_timeout: req.empty_timeout,
        departure_timeout: req.departure_timeout,
        max_participants: req.max_participants,
        metadata: req.metadata,
    };
    Ok(state.rooms.create(&req.name, opts).0)
}

/// `limit.max_metadata_size` (or the deprecated `room.max_metadata_size`).
fn check_metadata(state: &AppState, metadata: &str) -> Result<(), TwirpError> {
    let mut limit = state.config.limit.max_metadata_size;
    if limit == 0 {
        limit = state.config.room.max_metadata_size;
    }
    if limit > 0 && metadata.len() > limit as usize {
        return Err(TwirpError::invalid_argument("metadata size exceeds limits")
            .with_meta("limit", limit.to_string()));
    }
    Ok(())
}

fn existing_room(state: &AppState, name: &str) -> Result<Room, TwirpError> {
    state
        .rooms
        .get(name)
        .ok_or_else(|| TwirpError::not_found(ROOM_NOT_FOUND))
}

fn participant(
    state: &AppState,
    room: &str,
    identity: &str,
) -> Result<ParticipantEntry, TwirpError> {
    existing_room(state, room)?
        .participants
        .get(identity)
        .cloned()
        .ok_or_else(|| TwirpError::not_found(PARTICIPANT_NOT_FOUND))
}

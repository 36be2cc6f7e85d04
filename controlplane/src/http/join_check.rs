//! The checks a room join must pass before any session exists (LiveKit
//! `EnsureJoinPermission` + `ValidateConnectRequest`, LIVEKIT_PROTOCOL.md
//! §1.10, §7.6). Shared by `/rtc/validate` and the signaling WebSocket so
//! both refuse with the same status and plain-text message.

use axum::http::StatusCode;

use crate::auth::{token_from_parts, Claims};
use crate::server::AppState;

/// A token that may join a room, with the room and identity it names.
#[derive(Debug, Clone)]
pub struct JoinGrant {
    pub claims: Claims,
    /// `video.room`: the token decides the room.
    pub room: String,
    /// `sub` (or `jti`).
    pub identity: String,
}

/// The refusal texts LiveKit sends; SDKs show them to users.
pub const NO_PERMISSIONS: &str = "no permissions to access the room";
pub const PERMISSIONS_DENIED: &str = "permissions denied";
pub const ROOM_NOT_FOUND: &str = "requested room does not exist";

/// Checks the token of a join (header or `access_token` query) and the room
/// it names. Errors carry the HTTP status and plain-text body to answer.
pub fn check_join(
    state: &AppState,
    authorization: Option<&str>,
    query_token: Option<&str>,
) -> Result<JoinGrant, (StatusCode, String)> {
    let unauthorized = |m: String| (StatusCode::UNAUTHORIZED, m);
    let token = token_from_parts(authorization, query_token)
        .map_err(|e| unauthorized(e.reason()))?
        .ok_or_else(|| unauthorized(NO_PERMISSIONS.into()))?;
    let claims = state
        .keys
        .verify(&token)
        .map_err(|e| unauthorized(e.reason()))?;
    let grant = claims
        .video
        .as_ref()
        .ok_or_else(|| unauthorized(NO_PERMISSIONS.into()))?;
    if !grant.room_join {
        return Err(unauthorized(PERMISSIONS_DENIED.into()));
    }
    let room = grant.room.clone();
    let limits = &state.config.limit;
    let bad = |m: &str| (StatusCode::BAD_REQUEST, m.to_string());
    if room.is_empty() {
        return Err(bad("no room name"));
    }
    if too_long(&room, limits.max_room_name_length) {
        return Err(bad("room name length exceeds limits"));
    }
    let identity = claims.identity().to_string();
    if identity.is_empty() {
        return Err(bad("participant identity cannot be empty"));
    }
    if too_long(&identity, limits.max_participant_identity_length) {
        return Err(bad("participant identity length exceeds limits"));
    }
    if !state.config.room.auto_create && !state.rooms.exists(&room) {
        return Err((StatusCode::NOT_FOUND, ROOM_NOT_FOUND.into()));
    }
    Ok(JoinGrant {
        claims,
        room,
        identity,
    })
}

fn too_long(s: &str, limit: u32) -> bool {
    limit > 0 && s.len() > limit as usize
}

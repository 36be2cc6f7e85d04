//! Access tokens for the simulated participants: HS256 JWTs with LiveKit's
//! claim layout (LIVEKIT_PROTOCOL.md 7), signed with the API key and secret
//! the operator gives us, as `lk load-test` does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// Why a token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// jsonwebtoken refused to sign (an empty secret, for instance).
    #[error("cannot sign token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// The `video` grant, with LiveKit's JSON names.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct VideoGrant {
    room: String,
    room_join: bool,
    can_publish: bool,
    can_subscribe: bool,
    can_publish_data: bool,
}

#[derive(Debug, Clone, Serialize)]
struct Claims {
    iss: String,
    sub: String,
    name: String,
    nbf: u64,
    exp: u64,
    video: VideoGrant,
}

/// What one participant may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// May publish tracks.
    pub publish: bool,
    /// May subscribe to tracks.
    pub subscribe: bool,
}

/// A join token for `identity` in `room`, valid for `ttl`.
pub fn join_token(
    api_key: &str,
    secret: &str,
    room: &str,
    identity: &str,
    grant: Grant,
    ttl: Duration,
) -> Result<String, TokenError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let claims = Claims {
        iss: api_key.to_string(),
        sub: identity.to_string(),
        name: identity.to_string(),
        // A minute of slack for clocks that differ from the server's.
        nbf: now.saturating_sub(60),
        exp: now.saturating_add(ttl.as_secs()),
        video: VideoGrant {
            room: room.to_string(),
            room_join: true,
            can_publish: grant.publish,
            can_subscribe: grant.subscribe,
            can_publish_data: grant.publish,
        },
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?)
}

//! Making access tokens: `create-join-token`, refresh tokens sent to
//! participants, and webhook signatures. HS256 with the API secret.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::{AuthError, Claims};

/// Signs `claims` as `api_key`: sets `iss`, `nbf` = now and `exp` = now +
/// `ttl` (other claims are kept as given).
pub fn mint(
    api_key: &str,
    secret: &str,
    claims: &Claims,
    ttl: Duration,
) -> Result<String, AuthError> {
    mint_at(api_key, secret, claims, ttl, unix_now())
}

/// [`mint`] with an explicit "now" (Unix seconds), for tests and for tokens
/// whose times must line up with another clock.
pub fn mint_at(
    api_key: &str,
    secret: &str,
    claims: &Claims,
    ttl: Duration,
    now: u64,
) -> Result<String, AuthError> {
    let mut c = claims.clone();
    c.iss = api_key.to_string();
    c.nbf = Some(now);
    c.exp = Some(now.saturating_add(ttl.as_secs()));
    let header = Header::new(Algorithm::HS256);
    jsonwebtoken::encode(&header, &c, &EncodingKey::from_secret(secret.as_bytes()))
        .map_err(|e| AuthError::Signing(e.to_string()))
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

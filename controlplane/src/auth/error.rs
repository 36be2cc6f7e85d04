//! Why a request's token was refused. The `Display` texts are LiveKit's, so a
//! handler can answer `401` with `reason()` as the plain-text body and SDKs
//! show the same messages as with livekit-server.

/// A token or authorization header that cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The `Authorization` header is present but is not `Bearer <token>`.
    #[error("invalid authorization header. Must start with Bearer ")]
    InvalidAuthorizationHeader,
    /// The token is not a JWT (bad shape, base64 or JSON).
    #[error("invalid authorization token")]
    MalformedToken,
    /// The token's `iss` names no configured API key.
    #[error("invalid API key")]
    InvalidApiKey,
    /// Signature, algorithm, `exp` or `nbf` check failed; the detail says which.
    #[error("invalid authorization token: {0}")]
    InvalidToken(String),
    /// Minting failed (only from [`crate::auth::mint`]).
    #[error("could not sign token: {0}")]
    Signing(String),
}

impl AuthError {
    /// The text for the `401` body (LiveKit's message).
    pub fn reason(&self) -> String {
        self.to_string()
    }

    /// The HTTP status LiveKit answers with: always 401 for token problems.
    pub fn http_status(&self) -> u16 {
        match self {
            AuthError::Signing(_) => 500,
            _ => 401,
        }
    }
}

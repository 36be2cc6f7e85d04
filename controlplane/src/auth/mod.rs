//! LiveKit access tokens: HS256 JWTs whose `iss` names an API key and whose
//! `video` grant says what the bearer may do.
//!
//! `claims.rs` is the claim set (JSON names as LiveKit's), `keys.rs` the API
//! key store and token verification, `mint.rs` makes tokens
//! (`create-join-token`, webhooks, refresh tokens), `request.rs` finds the
//! token in a request, `error.rs` holds LiveKit's refusal messages.

mod claims;
mod error;
mod keys;
mod mint;
mod request;
pub use claims::*;
pub use error::AuthError;
pub use keys::*;
pub use mint::{mint, mint_at, unix_now};
pub use request::token_from_parts;

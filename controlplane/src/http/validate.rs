//! `GET /rtc/validate` and `GET /rtc/v1/validate`: the join checks without
//! a session. The JS SDK calls them after a failed WebSocket upgrade to learn
//! why (LIVEKIT_PROTOCOL.md §1.8-1.9). Bodies are plain text.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};

use super::join_check::check_join;
use crate::server::AppState;

type Reply = (StatusCode, String);

/// `/rtc/validate` (v0, dual PC).
pub async fn validate_v0(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Reply {
    validate(&state, &headers, &query)
}

/// `/rtc/v1/validate` (single PC): also needs a `join_request` parameter.
/// Decoding it is the signaling side's job; here only presence is checked.
pub async fn validate_v1(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Reply {
    if query.get("join_request").is_none_or(|v| v.is_empty()) {
        return (StatusCode::BAD_REQUEST, "join_request is required".into());
    }
    validate(&state, &headers, &query)
}

fn validate(state: &AppState, headers: &HeaderMap, query: &HashMap<String, String>) -> Reply {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let query_token = query.get("access_token").map(String::as_str);
    match check_join(state, authorization, query_token) {
        Ok(_) => (StatusCode::OK, "success".into()),
        Err(refusal) => refusal,
    }
}
